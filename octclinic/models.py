"""No tables of its own. The module exists so Django treats octclinic as a models app: its
post_migrate hook (re-applying the staff roles) only fires for apps with a models module."""
