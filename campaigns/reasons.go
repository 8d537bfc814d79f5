package campaigns

// Abort reasons: the one table every stage records aborts with (Braze's
// abort types where Braze has one).
const (
	AbortLiquid           = "liquid_abort_message"
	AbortNotInSegment     = "user_not_in_segment"
	AbortNotSubscribed    = "not_subscribed"
	AbortNoValidToken     = "no_valid_token"
	AbortInvalidPayload   = "invalid_push_payload"
	AbortCardSizeExceeded = "content_card_size_exceeded"
	AbortExhaustedRetries = "exhausted_retries"
	AbortExpired          = "expired"
	AbortFrequencyCapped  = "frequency_capped"
	AbortRateLimit        = "rate_limit"
	AbortQuietHours       = "quiet_hours"
	AbortNotReEligible    = "not_re_eligible"
	AbortRenderError      = "render_error"
	AbortCampaignStopped  = "campaign_stopped"
	AbortProviderRejected = "provider_rejected"
	AbortControlGroup     = "control_group"
)

// AbortReasons lists every reason, for metrics created up front and docs.
func AbortReasons() []string {
	return []string{AbortLiquid, AbortNotInSegment, AbortNotSubscribed, AbortNoValidToken,
		AbortInvalidPayload, AbortCardSizeExceeded, AbortExhaustedRetries, AbortExpired,
		AbortFrequencyCapped, AbortRateLimit, AbortQuietHours, AbortNotReEligible,
		AbortRenderError, AbortCampaignStopped, AbortProviderRejected, AbortControlGroup}
}
