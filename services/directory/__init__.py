"""directory — 名簿管理: the municipality's organisations, districts and users, kept by its administrator."""
