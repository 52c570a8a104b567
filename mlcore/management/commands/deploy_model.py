from django.core.management.base import BaseCommand, CommandError

from mlcore.exceptions import ModelVersionUnavailable
from mlcore.models import ModelVersion
from mlcore.selectors import model_version_get
from mlcore.services import model_version_deploy, model_version_promote_if_not_worse, model_version_rollback


class Command(BaseCommand):
    help = (
        "Deploy a model version, deploy it only if not worse (--gate), or roll back to the previous one. A --reason "
        "is required; the action is recorded in the audit trail as the model registry's system account, via "
        "'command'. Deploy checks that refuse a version can be overridden with --override-reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("version", nargs="?")
        parser.add_argument("--rollback", action="store_true")
        parser.add_argument("--gate", action="store_true", help="compare with the deployed model first")
        parser.add_argument("--reason", default="", help="why (required; recorded in the audit trail)")
        parser.add_argument(
            "--override-reason", default="", help="why deploying is safe although the deploy checks refuse it"
        )

    def handle(self, *args, version, rollback, gate, reason, override_reason, **options):
        if bool(version) == bool(rollback):
            raise CommandError("Give a VERSION to deploy, or --rollback")
        if not reason.strip():
            raise CommandError("--reason is required: deploying and rolling back are recorded with their reason")
        try:
            if rollback:
                deployed = model_version_rollback(actor=None, reason=reason, via="command")
                self.stdout.write(self.style.SUCCESS(f"Rolled back: {deployed.version} is deployed"))
                return
            try:
                model_version = model_version_get(version=version)
            except ModelVersion.DoesNotExist as exc:
                raise CommandError(f"No model version {version!r}") from exc
            if gate:
                decision = model_version_promote_if_not_worse(
                    candidate=model_version, actor=None, via="command", reason=reason
                )
                if not decision.passed:
                    raise CommandError(f"Not deployed: {decision.reason}")
                self.stdout.write(self.style.SUCCESS(f"{version} deployed: {decision.reason}"))
                return
            model_version_deploy(
                model_version=model_version, actor=None, reason=reason, override_reason=override_reason, via="command"
            )
        except ModelVersionUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{version} deployed"))
