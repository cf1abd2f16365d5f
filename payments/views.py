"""The Stripe webhook endpoint (outside /api/v1/: Stripe signs its requests, no session or CSRF token)."""

import json

import stripe
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import stripe_client
from payments.webhooks import webhook_event_receive

MAX_WEBHOOK_BODY = 1024 * 1024


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """400 with nothing stored unless the signature verifies; 200 once the event is stored and processed."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_WEBHOOK_BODY:
        return JsonResponse({"code": "payload_too_large", "message": "Too large."}, status=413)
    try:
        event = stripe_client.webhook_event(request.body, request.headers.get("Stripe-Signature", ""))
    except (ValueError, stripe.SignatureVerificationError):
        return JsonResponse({"code": "bad_signature", "message": "The Stripe signature does not verify."}, status=400)
    webhook_event_receive(event=json.loads(request.body))
    return JsonResponse({"received": event.id})
