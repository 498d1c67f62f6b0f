import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Makes a Kasane broker's SCRAM users and ACLs exactly what deploy/local/kafka.py asks for.
 *
 * <p>aiokafka has no API for ACLs or SCRAM credentials, so the local runtime runs this with the
 * broker's own jars: one JVM for everything, because broker start-up time is test-suite time.
 * The specification arrives on stdin (it holds passwords, which must not appear in a process
 * listing or a file of their own):
 *
 * <pre>{"client": {admin client properties},
 *  "users": {"name": "password", ...},
 *  "acls": [{"principal": "User:x", "resourceType": "TOPIC", "patternType": "LITERAL",
 *            "name": "...", "operation": "WRITE"}, ...]}</pre>
 *
 * <p>Both are synchronised, not just added: users and ACLs the specification no longer names are
 * deleted, so narrowing the access table in contracts/kafka_access.py narrows a running
 * installation. It returns only once the broker itself reports the result, so clients may connect
 * right after.
 */
public class KasaneAccess {
    private static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_512;
    private static final int ITERATIONS = 4096; // Kafka's minimum: the passwords are random, 144 bits
    private static final long VISIBLE_WITHIN_MS = 30_000;

    public static void main(String[] args) throws Exception {
        JsonNode spec = new ObjectMapper().readTree(System.in);
        Properties client = new Properties();
        spec.get("client").properties().forEach(e -> client.put(e.getKey(), e.getValue().asText()));
        Map<String, String> users = new HashMap<>();
        spec.get("users").properties().forEach(e -> users.put(e.getKey(), e.getValue().asText()));
        Set<AclBinding> acls = new HashSet<>();
        spec.get("acls").forEach(acl -> acls.add(binding(acl)));

        // Started with the broker: until it listens, the admin client retries connecting (with
        // backoff, see the client properties) and this JVM's start-up overlaps the broker's.
        try (Admin admin = Admin.create(client)) {
            int[] changedUsers = syncUsers(admin, users);
            int[] changedAcls = syncAcls(admin, acls);
            awaitVisible(admin, users.keySet(), acls);
            System.out.printf(
                "kasane-access: %d users (%d added, %d removed), %d ACLs (%d added, %d removed)%n",
                users.size(), changedUsers[0], changedUsers[1], acls.size(), changedAcls[0], changedAcls[1]);
        }
    }

    private static AclBinding binding(JsonNode acl) {
        return new AclBinding(
            new ResourcePattern(
                ResourceType.fromString(acl.get("resourceType").asText()),
                acl.get("name").asText(),
                PatternType.fromString(acl.get("patternType").asText())),
            new AccessControlEntry(
                acl.get("principal").asText(),
                "*",
                AclOperation.fromString(acl.get("operation").asText()),
                AclPermissionType.ALLOW));
    }

    /**
     * Creates missing users and deletes users no longer named. An existing user keeps its
     * credential: passwords are made once per installation, and re-salting all of them on every
     * start would only slow the start down.
     */
    private static int[] syncUsers(Admin admin, Map<String, String> users) throws Exception {
        Map<String, UserScramCredentialsDescription> existing =
            admin.describeUserScramCredentials().all().get();
        List<UserScramCredentialAlteration> changes = new ArrayList<>();
        users.forEach((name, password) -> {
            if (!existing.containsKey(name)) {
                changes.add(new UserScramCredentialUpsertion(
                    name, new ScramCredentialInfo(MECHANISM, ITERATIONS), password));
            }
        });
        int added = changes.size();
        int removed = 0;
        for (UserScramCredentialsDescription description : existing.values()) {
            if (!users.containsKey(description.name())) {
                removed++;
                for (ScramCredentialInfo info : description.credentialInfos()) {
                    changes.add(new UserScramCredentialDeletion(description.name(), info.mechanism()));
                }
            }
        }
        if (!changes.isEmpty()) {
            admin.alterUserScramCredentials(changes).all().get();
        }
        return new int[] {added, removed};
    }

    private static int[] syncAcls(Admin admin, Set<AclBinding> wanted) throws Exception {
        Set<AclBinding> existing = new HashSet<>(admin.describeAcls(AclBindingFilter.ANY).values().get());
        List<AclBinding> missing = wanted.stream().filter(b -> !existing.contains(b)).collect(Collectors.toList());
        List<AclBindingFilter> extra = existing.stream()
            .filter(b -> !wanted.contains(b))
            .map(AclBinding::toFilter)
            .collect(Collectors.toList());
        if (!missing.isEmpty()) {
            admin.createAcls(missing).all().get();
        }
        if (!extra.isEmpty()) {
            admin.deleteAcls(extra).all().get();
        }
        return new int[] {missing.size(), extra.size()};
    }

    /** The controller has committed the changes; wait until the broker serving clients applied them. */
    private static void awaitVisible(Admin admin, Set<String> users, Set<AclBinding> acls) throws Exception {
        long deadline = System.currentTimeMillis() + VISIBLE_WITHIN_MS;
        while (true) {
            Set<AclBinding> seenAcls = new HashSet<>(admin.describeAcls(AclBindingFilter.ANY).values().get());
            Set<String> seenUsers = admin.describeUserScramCredentials().all().get().keySet();
            if (seenAcls.equals(acls) && seenUsers.equals(users)) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("the broker did not show the users and ACLs within "
                    + VISIBLE_WITHIN_MS + " ms: users " + seenUsers + ", ACLs " + seenAcls);
            }
            Thread.sleep(50); // poll interval; the loop waits for the broker's own answer
        }
    }
}
