from rest_framework import serializers


class EvidenceExportQuerySerializer(serializers.Serializer):
    withFiles = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: a ZIP of bundle.json and the files themselves; false: the bundle alone, as JSON.",
    )
