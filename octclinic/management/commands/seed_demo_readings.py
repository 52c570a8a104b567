from django.core.management.base import BaseCommand

from octclinic.demo import demo_readings_seed


class Command(BaseCommand):
    help = (
        "Store the demo clinic's AI readings with the deployed model, then its reviews, one second opinion and one "
        "overdue reading (run after seed_demo and seed_demo_model; safe to run again)."
    )

    def handle(self, *args, **options):
        # The step that needs both the clinic (patients, scans) and a model: the project's wiring runs it, since
        # mlcore must not know patients and the clinic's seed runs before any model exists.
        read = demo_readings_seed()
        if read:
            self.stdout.write(f"AI readings of {read} demo scans stored.")
        else:
            self.stdout.write("No demo scan waits for a reading (or no model is deployed).")
