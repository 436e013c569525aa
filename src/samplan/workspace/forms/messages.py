"""Forms for case messages (meddelanden). The body is checked by services.post_message, so the
error reads in Swedish and English from the domain error itself."""

from django import forms
from django.utils.translation import gettext_lazy as _


class MessageForm(forms.Form):
    """A new message in the SIP's thread. Prefixed, so its ids stay unique on the case page."""

    prefix = "message"

    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Write what the other units need to know to act. No health details needed."),
        # A backstop only: the limit people meet is the service's (MESSAGE_MAX_LENGTH, 4000),
        # whose message names it in both languages.
        max_length=8000,
    )
    asks_acknowledgement = forms.BooleanField(
        label=_("Ask for acknowledgement of receipt"),
        required=False,
    )


class AcknowledgeForm(forms.Form):
    """Acknowledge receipt (kvittera) of one message: the button is the whole form."""
