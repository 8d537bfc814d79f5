package campaigns

import (
	"context"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
)

// Store is what campaigns keeps and reads. store.Store implements it.
type Store interface {
	CreateCampaign(ctx context.Context, c *Campaign) error
	UpdateCampaign(ctx context.Context, c *Campaign) error
	SetCampaignStatus(ctx context.Context, id, status string, from []string, at time.Time) error
	Campaign(ctx context.Context, id string) (*Campaign, error)
	CampaignVersion(ctx context.Context, id string, version int64) (*Definition, error)
	Campaigns(ctx context.Context, limit, offset int) ([]*Campaign, error)

	CreateDispatch(ctx context.Context, d *Dispatch) (*Dispatch, bool, error)
	Dispatch(ctx context.Context, id string) (*Dispatch, error)
	CampaignDispatches(ctx context.Context, campaignID string) ([]*Dispatch, error)
	SetDispatchStatus(ctx context.Context, campaignID, id, status string, from []string, at time.Time) error
	AddPages(ctx context.Context, dispatchID string, pages []Page, cursor int64, pagingDone bool, at time.Time) error
	Page(ctx context.Context, dispatchID string, firstUserID int64) (*Page, error)
	CompletePage(ctx context.Context, dispatchID string, firstUserID int64, at time.Time) (bool, error)
	OpenPages(ctx context.Context, enqueuedBefore time.Time, limit int) ([]Page, error)
	TouchPage(ctx context.Context, dispatchID string, firstUserID int64, at time.Time) error
	StalledDispatches(ctx context.Context, before time.Time, limit int) ([]string, error)
	TouchDispatch(ctx context.Context, id string, at time.Time) error
	DueDispatches(ctx context.Context, now time.Time, limit int) ([]*Dispatch, error)
	StartDispatch(ctx context.Context, id string, at time.Time) (bool, error)
	LastOccurrence(ctx context.Context, campaignID, prefix string) (string, error)
	// DispatchByOccurrence returns a campaign's dispatch of one occurrence
	// (ErrNotFound when there is none); campaignID "" for /messages.
	DispatchByOccurrence(ctx context.Context, campaignID, occurrence string) (*Dispatch, error)
	// RescheduleDispatch changes the due time (and the spec, when not nil)
	// of a dispatch still scheduled; false when it is not scheduled any more.
	RescheduleDispatch(ctx context.Context, id string, due time.Time, spec *Spec, at time.Time) (bool, error)
	// CancelScheduled stops a dispatch still scheduled; false when it was not.
	CancelScheduled(ctx context.Context, id string, at time.Time) (bool, error)
	// ScheduledDispatches lists scheduled dispatches due by until whose
	// occurrence starts with prefix, by due time.
	ScheduledDispatches(ctx context.Context, prefix string, until time.Time, limit int) ([]*Dispatch, error)
	// DueTriggered lists pending triggered sends due at now, oldest first.
	DueTriggered(ctx context.Context, now time.Time, limit int) ([]*Triggered, error)
	// FinishTriggered moves a pending triggered send to status (dispatched
	// or cancelled); false when it was no longer pending.
	FinishTriggered(ctx context.Context, id, status, reason, dispatchID string, at time.Time) (bool, error)
	// TriggeredSends lists a campaign's triggered sends, newest first.
	TriggeredSends(ctx context.Context, campaignID string, limit int) ([]*Triggered, error)

	Claim(ctx context.Context, claims []Claim, token string, now, leaseUntil time.Time) ([]ClaimResult, error)
	// Record writes a page's outcomes and engagement events in one
	// transaction; a claimed outcome's event (OutcomeEvent, at now) is
	// written with it, only when its claim still held.
	Record(ctx context.Context, outcomes []Outcome, events []Engagement, token string, now time.Time) error
	// RecordEvents is Record that also returns the engagement events it
	// stored (those not stored before).
	RecordEvents(ctx context.Context, outcomes []Outcome, events []Engagement, token string, now time.Time) ([]Engagement, error)
	// HasEngagement reports whether an engagement event of kind is stored
	// for the row k.
	HasEngagement(ctx context.Context, k LedgerKey, kind string) (bool, error)
	LedgerCounts(ctx context.Context, dispatchID string) (map[string]int64, error)
	// Conversions lists a campaign's conversions.
	Conversions(ctx context.Context, campaignID string) ([]Conversion, error)
	// InAppImpressions returns, by campaign, when the user last saw one of
	// its in-app messages.
	InAppImpressions(ctx context.Context, userID int64) (map[string]time.Time, error)
	// EngagementSeries and ConversionSeries count a campaign's engagement
	// events (by channel and kind) and conversions by UTC day in [from, to).
	EngagementSeries(ctx context.Context, campaignID string, from, to time.Time) ([]SeriesCount, error)
	// EngagementRows calls fn with each of a campaign's engagement rows in
	// [from, to): its dispatch, user, channel, kind and time (Unix ms).
	EngagementRows(ctx context.Context, campaignID string, from, to time.Time, fn func(dispatchID string, userID int64, channel, kind string, atMS int64) error) error
	ConversionSeries(ctx context.Context, campaignID string, from, to time.Time) ([]SeriesCount, error)
	// LedgerRows streams a dispatch's ledger rows to fn.
	LedgerRows(ctx context.Context, dispatchID string, fn func(userID int64, channel, status, reason string) error) error
	AddCards(ctx context.Context, cards []*Card) error

	// Content Cards sync and SDK engagement (cardsync.go, engagement.go).
	// FindUserIDs resolves users by external id (and the other lookups).
	FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error)
	// UserCards returns a user's cards that had not expired at since,
	// dismissed ones too, newest first.
	UserCards(ctx context.Context, userID int64, since time.Time) ([]*Card, error)
	// CardsByID returns the user's cards of ids (others' are left out).
	CardsByID(ctx context.Context, userID int64, ids []string) ([]*Card, error)
	// FirstImpressionDispatches lists the running and done dispatches
	// created after since with a card created at first impression.
	FirstImpressionDispatches(ctx context.Context, since time.Time) ([]*Dispatch, error)
	// CardsDecided returns which dispatches have decided the user's card: it
	// is in the feed (whatever its state) or its ledger row is an abort.
	CardsDecided(ctx context.Context, userID int64, dispatchIDs []string) (map[string]bool, error)
	// SetCardStates sets cards' viewed, clicked and dismissed times, each
	// once, stamping changed_at with at; a dismissed card changes no more.
	SetCardStates(ctx context.Context, userID int64, states []CardState, at time.Time) error
	// SentTo reports whether a dispatch delivered the user a message on
	// channel.
	SentTo(ctx context.Context, dispatchID string, userID int64, channel string) (bool, error)
	// EngagementCounts counts engagement events by channel and kind, of a
	// dispatch, or of a whole campaign when dispatchID is "".
	EngagementCounts(ctx context.Context, campaignID, dispatchID string) (map[string]map[string]int64, error)
	// ReserveSends runs decide over the users' sends since the given time
	// while holding the users (concurrent deciders for a user wait), and
	// stores the sends it returns.
	ReserveSends(ctx context.Context, userIDs []int64, since time.Time, decide func(existing []UserSend) []UserSend) error
	// ReleaseClaims gives claimed rows back (status retry, attempt not
	// counted) when token still holds them: messages a rate limit deferred.
	ReleaseClaims(ctx context.Context, keys []LedgerKey, token string) error

	// Local-time sends (localtime.go).
	// CreateLocalSend stores a local-time send before its dispatch;
	// DeleteLocalSend removes one whose dispatch was not created.
	CreateLocalSend(ctx context.Context, l *LocalSend) error
	DeleteLocalSend(ctx context.Context, dispatchID string) error
	// LocalSend returns a dispatch's local-time send (ErrNotFound: the
	// dispatch has no waves).
	LocalSend(ctx context.Context, dispatchID string) (*LocalSend, error)
	// SetLocalSchedule moves a dispatch still scheduled to due and makes it
	// a local-time send of l (nil: not one); false when it is not scheduled.
	SetLocalSchedule(ctx context.Context, dispatchID string, due time.Time, l *LocalSend, at time.Time) (bool, error)
	// TimeZones lists the distinct zone names of users ("" for none).
	TimeZones(ctx context.Context) ([]string, error)
	// PlanWaves stores a local-time dispatch's waves once (false when they
	// were already stored); no wave finishes the dispatch's paging.
	PlanWaves(ctx context.Context, dispatchID string, waves []Wave, skipped []string, at time.Time) (bool, error)
	// Waves lists a dispatch's waves in order.
	Waves(ctx context.Context, dispatchID string) ([]Wave, error)
	// DueWaves lists pending waves due at now of running dispatches.
	DueWaves(ctx context.Context, now time.Time, limit int) ([]Wave, error)
	// StartWave moves a pending wave to started; false when it was not
	// pending (another scheduler started it).
	StartWave(ctx context.Context, dispatchID string, wave int, at time.Time) (bool, error)
	// WaveScan is AudienceScan of where (or of a.UserIDs) narrowed to a wave.
	WaveScan(ctx context.Context, where string, args []any, a WaveAudience, afterID int64, size int, fn func(ids []int64, last bool) error) error
	// AddWavePages records pages of a wave and its cursor, as AddPages does
	// for a dispatch, and returns the pages as recorded: a page whose first
	// user is the first user of another wave's page (a user who changed
	// zone) is recorded without that user. waveDone marks the wave paged,
	// and the dispatch's paging done with its last wave.
	AddWavePages(ctx context.Context, dispatchID string, wave int, pages []Page, cursor int64, waveDone bool, at time.Time) ([]Page, error)

	// Audience and profiles.
	Driver() string
	// RefreshStats brings the database's planner statistics of the audience
	// tables up to date when they are stale, returning the tables it
	// analyzed.
	RefreshStats(ctx context.Context) ([]string, error)
	// AudienceScan streams the ids above afterID matching where, in id
	// order, to fn in batches of size (the rest, possibly none, with last).
	AudienceScan(ctx context.Context, where string, args []any, afterID int64, size int, fn func(ids []int64, last bool) error) error
	// DeliveryProfiles loads users with devices and app usage (and custom
	// event summaries when asked); deleted users are absent.
	DeliveryProfiles(ctx context.Context, ids []int64, eventSummaries bool) ([]*profiles.Profile, error)
	LoadRecent(ctx context.Context, ps []*profiles.Profile, sinceDay int64) error
	InvalidateTokens(ctx context.Context, drops []profiles.TokenDrop) (int, error)
}

// Senders gives the channel sender of an app (daemon's per-app registry).
type Senders interface {
	For(ctx context.Context, appID string) (channels.Sender, string, error)
}

// RateLimiter shares per-minute budgets between workers (queue.RateLimiter
// on Redis).
type RateLimiter interface {
	// Take takes up to n of key's limit per minute for the current minute and
	// returns how many it got and how long until the next minute.
	Take(ctx context.Context, key string, n, limit int) (int, time.Duration, error)
}

// Enqueuer puts tasks on the queue (queue.Client).
type Enqueuer interface {
	EnqueueDispatch(ctx context.Context, p queue.DispatchPayload) error
	EnqueueDeliver(ctx context.Context, p queue.DeliverPayload, processIn time.Duration) error
	// RequeueDeliver enqueues a page the store says is unfinished, running
	// again a task the queue says completed (its completion was lost).
	RequeueDeliver(ctx context.Context, p queue.DeliverPayload) error
}
