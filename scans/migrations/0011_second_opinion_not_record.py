"""Second opinions stored as the decision of record (issue #17, part 1) become second opinions again.

Before the fix, a colleague who answered a second-opinion request before the asking doctor had decided was stored
as the scan's decision of record (``is_second_opinion=False``), so the asking doctor could no longer decide. Such
a row answers a request and was written by the colleague asked: it is a second opinion. Flipping it leaves the scan
without a decision of record, so it waits in the queue again for the responsible doctor.
"""

from django.db import migrations


def second_opinions_restore(apps, schema_editor):
    Review = apps.get_model("scans", "Review")
    Scan = apps.get_model("scans", "Scan")
    SecondOpinionRequest = apps.get_model("scans", "SecondOpinionRequest")
    answered = SecondOpinionRequest.objects.filter(review__isnull=False).values_list(
        "review_id", "colleague_id", "requested_by_id"
    )
    wrong = [
        review_id
        for review_id, colleague_id, requested_by_id in answered
        if colleague_id != requested_by_id
        and Review.objects.filter(pk=review_id, reviewer_id=colleague_id, is_second_opinion=False).exists()
    ]
    if not wrong:
        return
    scans = list(Review.objects.filter(pk__in=wrong).values_list("scan_id", flat=True))
    Review.objects.filter(pk__in=wrong).update(is_second_opinion=True)
    Scan.objects.filter(pk__in=scans, ai_status="classified", queue_prediction__isnull=False).update(
        review_pending=True
    )


class Migration(migrations.Migration):
    dependencies = [("scans", "0010_prediction_device")]

    operations = [migrations.RunPython(second_opinions_restore, migrations.RunPython.noop)]
