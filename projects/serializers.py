from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from accounts.serializers import UserBriefSerializer
from kernel.ids import IdField
from kernel.schema import BuiltPayload
from projects import events
from projects.models import Project, ProjectMember, Proposal, ServiceRequest


class ServiceRequestSerializer(serializers.ModelSerializer):
    client = UserBriefSerializer(read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = ServiceRequest
        fields = ["id", "client", "title", "description", "budget", "status", "createdAt"]
        read_only_fields = ["id", "client", "status", "createdAt"]


class ServiceRequestInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=settings.SERVICE_REQUEST_DESCRIPTION_MAX_LENGTH
    )
    budget = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )


class ProposalSerializer(serializers.ModelSerializer):
    requestId = serializers.IntegerField(source="request_id", read_only=True)
    provider = UserBriefSerializer(read_only=True)
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    acceptedAt = serializers.DateTimeField(source="accepted_at", read_only=True, allow_null=True)
    termsHash = serializers.CharField(source="terms_hash", read_only=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "requestId",
            "provider",
            "price",
            "scope",
            "deadline",
            "expiresAt",
            "status",
            "termsHash",
            "createdAt",
            "acceptedAt",
        ]
        read_only_fields = fields


class ProposalInputSerializer(serializers.Serializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    scope = serializers.CharField(max_length=settings.PROPOSAL_SCOPE_MAX_LENGTH)
    deadline = serializers.DateField()
    expiresAt = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ProposalAcceptInputSerializer(serializers.Serializer):
    termsHash = serializers.CharField(required=False, allow_null=True, default=None, max_length=64)


class ProjectSerializer(BuiltPayload, serializers.ModelSerializer):
    build = staticmethod(events.project_payload)

    publicId = serializers.UUIDField(source="public_id", read_only=True)
    proposalId = serializers.IntegerField(source="proposal_id", read_only=True)
    requestId = serializers.IntegerField(source="request_id", read_only=True)
    client = UserBriefSerializer(read_only=True)
    provider = UserBriefSerializer(read_only=True)
    # projects.selectors annotates it (messaging.selectors.project_conversation_id).
    conversationId = serializers.IntegerField(source="conversation_id", read_only=True)
    termsSnapshot = serializers.JSONField(source="terms_snapshot", read_only=True)
    termsHash = serializers.CharField(source="terms_hash", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "publicId",
            "proposalId",
            "requestId",
            "title",
            "client",
            "provider",
            "price",
            "scope",
            "deadline",
            "termsSnapshot",
            "termsHash",
            "status",
            "conversationId",
            "createdAt",
        ]
        read_only_fields = fields


class ProjectMemberSerializer(BuiltPayload, serializers.Serializer):
    build = staticmethod(events.member_payload)

    user = UserBriefSerializer(read_only=True)
    side = serializers.ChoiceField(choices=ProjectMember.Side.choices, read_only=True)
    owner = serializers.BooleanField(
        read_only=True, help_text="The project's client or provider (its locked parties), who add and remove members."
    )
    addedBy = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The owner who added this member; null for an owner."
    )
    joinedAt = serializers.DateTimeField(read_only=True)


class ProjectMemberInputSerializer(serializers.Serializer):
    userId = IdField(
        help_text="The user to add: a client for the client's side, an approved provider for the provider's."
    )
