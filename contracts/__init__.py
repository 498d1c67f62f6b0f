"""The published language of Kasane: public events, their envelope and topics.

Services never import each other; they share only these models. Nothing here may carry
plaintext personal data: public events hold a pseudonymous subject reference and coarse
attributes (age band, district, issue tags), validated so that free text cannot slip in.
"""
