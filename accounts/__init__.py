"""Users, organizations and memberships, API tokens; later KYC and investor protection."""
