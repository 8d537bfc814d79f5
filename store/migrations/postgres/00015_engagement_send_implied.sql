-- +goose Up
-- A send is no longer stored on its own: every delivery and bounce row is
-- also its message's send (the data series count it from them and the
-- export stream emits its Send event, with the same id, from them).
DELETE FROM engagement WHERE kind = 'send';

-- +goose Down
INSERT INTO engagement (dispatch_id, user_id, channel, device, kind, campaign_id, reason, at)
SELECT dispatch_id, user_id, channel, device, 'send', campaign_id, '', at FROM engagement WHERE kind IN ('delivery', 'bounce')
ON CONFLICT DO NOTHING;
