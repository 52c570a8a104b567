import os

from django.core.management.base import BaseCommand

from octclinic.demo import demo_clinic_seed


class Command(BaseCommand):
    help = "Seed (or top up) the demo clinic and print the demo logins. Safe to run again: existing data is kept."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD") or None,
            help="Password for every demo account (default: $DEMO_PASSWORD, else generated once and remembered).",
        )

    def handle(self, *args, password=None, **options):
        logins = demo_clinic_seed(password=password)
        self.stdout.write(self.style.SUCCESS("Demo clinic ready. Logins (http://127.0.0.1:8000/accounts/login/):"))
        width = max(len(login.username) for login in logins)
        for login in logins:
            shown = login.password or "(unchanged; set DEMO_PASSWORD to reset)"
            self.stdout.write(f"  {login.username.ljust(width)}  {shown}   {login.role}")
