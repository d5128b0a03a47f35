"""Load stage: the store (migrations, sessions, upserts of the Région's frame), the archive of
deliveries and the quarantine files."""
