package scheduler

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// worldZones run from the first zone to reach a wall time to the last.
var worldZones = []string{
	"Pacific/Kiritimati", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Berlin",
	"Europe/Paris", "America/New_York", "Pacific/Honolulu", "Etc/GMT+12",
}

func TestWaveTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, local string
		zones       []string
		want        map[string]string
	}{
		{
			name: "one summer morning, UTC+14 to UTC−12", local: "2026-07-01T09:00",
			zones: append(slices.Clone(worldZones), "", "Mars/Olympus", "Europe/Berlin"),
			want: map[string]string{
				"Pacific/Kiritimati":  "2026-06-30T19:00:00Z",
				"Australia/Lord_Howe": "2026-06-30T22:30:00Z", // +10:30 in winter
				"Asia/Kathmandu":      "2026-07-01T03:15:00Z",
				"Europe/Berlin":       "2026-07-01T07:00:00Z",
				"Europe/Paris":        "2026-07-01T07:00:00Z",
				"America/New_York":    "2026-07-01T13:00:00Z",
				"Pacific/Honolulu":    "2026-07-01T19:00:00Z",
				"Etc/GMT+12":          "2026-07-01T21:00:00Z",
			},
		},
		{
			name: "Europe's spring-forward night", local: "2026-03-29T02:30",
			zones: []string{"Europe/Berlin", "Europe/Paris", "Europe/London", "America/New_York", "Australia/Lord_Howe"},
			want: map[string]string{
				"Europe/Berlin":       "2026-03-29T01:00:00Z", // gap: 03:00 CEST
				"Europe/Paris":        "2026-03-29T01:00:00Z",
				"Europe/London":       "2026-03-29T01:30:00Z", // London's gap is 01:00–02:00: 02:30 BST exists
				"America/New_York":    "2026-03-29T06:30:00Z", // EDT since 8 March
				"Australia/Lord_Howe": "2026-03-28T15:30:00Z", // +11
			},
		},
		{
			name: "fall-back nights: first pass", local: "2026-11-01T01:30",
			zones: []string{"America/New_York", "America/Chicago", "Europe/Berlin"},
			want: map[string]string{
				"America/New_York": "2026-11-01T05:30:00Z", // EDT, not EST
				"America/Chicago":  "2026-11-01T06:30:00Z", // CDT
				"Europe/Berlin":    "2026-11-01T00:30:00Z", // CET, a week after
			},
		},
		{
			name: "Lord Howe's 30-minute nights", local: "2026-04-05T01:45",
			zones: []string{"Australia/Lord_Howe", "Australia/Sydney"},
			want: map[string]string{
				"Australia/Lord_Howe": "2026-04-04T14:45:00Z", // +11, first pass
				"Australia/Sydney":    "2026-04-04T14:45:00Z", // AEDT +11 until 03:00
			},
		},
		{name: "no zones", local: "2026-07-01T09:00", want: map[string]string{}},
	} {
		got := WaveTimes(lt(t, tc.local), tc.zones)
		gotS := map[string]string{}
		for k, v := range got {
			gotS[k] = v.Format(time.RFC3339)
			if v.Location() != time.UTC {
				t.Errorf("%s: %s in %s, want UTC", tc.name, k, v.Location())
			}
		}
		if !maps.Equal(gotS, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, gotS, tc.want)
		}
	}
}

func TestPassedEverywhere(t *testing.T) {
	t.Parallel()
	l := lt(t, "2026-07-01T09:00") // UTC−12 reaches it at 21:00Z
	for now, want := range map[string]bool{
		"2026-06-30T18:59:59Z": false, "2026-07-01T20:59:59Z": false,
		"2026-07-01T21:00:00Z": false, "2026-07-01T21:00:01Z": true,
	} {
		if got := l.PassedEverywhere(utc(t, now)); got != want {
			t.Errorf("PassedEverywhere(%s) = %v", now, got)
		}
	}
}

func TestFirstWave(t *testing.T) {
	t.Parallel()
	l := lt(t, "2026-07-01T09:00") // UTC+14 reaches it at 19:00Z the day before
	if got := l.FirstWave(); !got.Equal(utc(t, "2026-06-30T19:00:00Z")) {
		t.Errorf("FirstWave = %s", got)
	}
	kiri, _ := LoadZone("Pacific/Kiritimati")
	if w := WaveTimes(l, []string{"Pacific/Kiritimati"}); !w["Pacific/Kiritimati"].Equal(l.FirstWave()) || !l.In(kiri).Equal(l.FirstWave()) {
		t.Errorf("Kiritimati's wave %s is not the first wave %s", w["Pacific/Kiritimati"], l.FirstWave())
	}
}

func TestPolicyText(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{PolicySkip, PolicyNextOccurrence} {
		if back, err := ParsePolicy(p.String()); err != nil || back != p {
			t.Errorf("%v: %v, %v", p, back, err)
		}
	}
	if _, err := ParsePolicy("later"); err == nil {
		t.Error("ParsePolicy accepted later")
	}
	if Policy(9).String() != "Policy(9)" || Policy(0) != PolicySkip {
		t.Error("zero Policy is not skip, or String of an unknown value")
	}
}

// wave is a Wave written for comparison.
type wave struct {
	at    string
	zones string
}

func waves(p Plan) []wave {
	var out []wave
	for _, w := range p.Waves {
		out = append(out, wave{w.At.Format(time.RFC3339), strings.Join(w.Zones, ",")})
	}
	return out
}

func TestPlanWaves(t *testing.T) {
	t.Parallel()
	local := lt(t, "2026-07-01T09:00")
	launch := utc(t, "2026-07-01T05:00:00Z") // Kiritimati, Lord Howe, Kathmandu have passed
	users := []string{"Pacific/Kiritimati", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Berlin",
		"Europe/Paris", "America/New_York", "Pacific/Honolulu", "Etc/GMT+12"}
	withDefault := append(slices.Clone(users), "", "Mars/Olympus", "Europe/Berlin")

	for _, tc := range []struct {
		name                         string
		zones                        []string
		def                          string
		launch                       time.Time
		policy                       Policy
		want                         []wave
		skipped, deferred, defaulted []string
	}{
		{
			name: "skip, every user has a zone", zones: users, def: "America/New_York", launch: launch, policy: PolicySkip,
			want: []wave{
				{"2026-07-01T07:00:00Z", "Europe/Berlin,Europe/Paris"},
				{"2026-07-01T13:00:00Z", "America/New_York"},
				{"2026-07-01T19:00:00Z", "Pacific/Honolulu"},
				{"2026-07-01T21:00:00Z", "Etc/GMT+12"},
			},
			skipped: []string{"Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Kiritimati"},
		},
		{
			name: "skip, with the company zone for users without one", zones: withDefault, def: "America/New_York", launch: launch, policy: PolicySkip,
			want: []wave{
				{"2026-07-01T07:00:00Z", "Europe/Berlin,Europe/Paris"},
				{"2026-07-01T13:00:00Z", ",America/New_York,Mars/Olympus"},
				{"2026-07-01T19:00:00Z", "Pacific/Honolulu"},
				{"2026-07-01T21:00:00Z", "Etc/GMT+12"},
			},
			skipped:   []string{"Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Kiritimati"},
			defaulted: []string{"", "Mars/Olympus"},
		},
		{
			name: "next occurrence: passed zones go the next day", zones: withDefault, def: "Pacific/Kiritimati", launch: launch, policy: PolicyNextOccurrence,
			want: []wave{
				{"2026-07-01T07:00:00Z", "Europe/Berlin,Europe/Paris"},
				{"2026-07-01T13:00:00Z", "America/New_York"},
				// Kiritimati's 2 July 09:00 is Honolulu's 1 July 09:00.
				{"2026-07-01T19:00:00Z", ",Mars/Olympus,Pacific/Honolulu,Pacific/Kiritimati"},
				{"2026-07-01T21:00:00Z", "Etc/GMT+12"},
				{"2026-07-01T22:30:00Z", "Australia/Lord_Howe"},
				{"2026-07-02T03:15:00Z", "Asia/Kathmandu"},
			},
			deferred:  []string{"", "Asia/Kathmandu", "Australia/Lord_Howe", "Mars/Olympus", "Pacific/Kiritimati"},
			defaulted: []string{"", "Mars/Olympus"},
		},
		{
			name: "launched ahead of every zone", zones: []string{"Pacific/Kiritimati", "Etc/GMT+12"}, def: "UTC",
			launch: utc(t, "2026-06-30T19:00:00Z"), policy: PolicySkip, // the first wave is due, not passed
			want: []wave{{"2026-06-30T19:00:00Z", "Pacific/Kiritimati"}, {"2026-07-01T21:00:00Z", "Etc/GMT+12"}},
		},
		{
			name: "launched days late: the first day still ahead", zones: []string{"Europe/Berlin"}, def: "UTC",
			launch: utc(t, "2026-07-05T08:00:00Z"), policy: PolicyNextOccurrence,
			want:     []wave{{"2026-07-06T07:00:00Z", "Europe/Berlin"}},
			deferred: []string{"Europe/Berlin"},
		},
		{
			name: "no zones", def: "UTC", launch: launch, policy: PolicySkip,
		},
	} {
		plan, err := PlanWaves(local, tc.zones, tc.def, tc.launch, tc.policy)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := waves(plan); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: waves\n got %v\nwant %v", tc.name, got, tc.want)
		}
		for _, c := range []struct {
			what      string
			got, want []string
		}{{"skipped", plan.Skipped, tc.skipped}, {"deferred", plan.Deferred, tc.deferred}, {"defaulted", plan.Defaulted, tc.defaulted}} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s: %s %q, want %q", tc.name, c.what, c.got, c.want)
			}
		}
		for _, w := range plan.Waves {
			if w.At.Before(tc.launch) {
				t.Errorf("%s: wave at %s is before launch", tc.name, w.At)
			}
		}
	}
}

func TestPlanWavesAcrossDST(t *testing.T) {
	t.Parallel()
	// 02:30 exists in Berlin on 28 March; the next day's falls in the gap.
	plan, err := PlanWaves(lt(t, "2026-03-28T02:30"), []string{"Europe/Berlin", "America/New_York"}, "UTC",
		utc(t, "2026-03-28T12:00:00Z"), PolicyNextOccurrence)
	if err != nil {
		t.Fatal(err)
	}
	want := []wave{{"2026-03-29T01:00:00Z", "Europe/Berlin"}, {"2026-03-29T06:30:00Z", "America/New_York"}}
	if got := waves(plan); !reflect.DeepEqual(got, want) {
		t.Errorf("waves %v, want %v", got, want)
	}
	if w, ok := plan.Zone("Europe/Berlin"); !ok || w.At.Format(time.RFC3339) != "2026-03-29T01:00:00Z" {
		t.Errorf("Zone(Europe/Berlin) = %v, %v", w, ok)
	}
	if _, ok := plan.Zone("Asia/Tokyo"); ok {
		t.Error("Zone found a zone not planned")
	}
}

func TestPlanWavesDefaultZone(t *testing.T) {
	t.Parallel()
	for _, def := range []string{"", "Local", "Mars/Olympus"} {
		if _, err := PlanWaves(lt(t, "2026-07-01T09:00"), []string{"UTC"}, def, time.Time{}, PolicySkip); err == nil || !strings.Contains(err.Error(), "default time zone") {
			t.Errorf("default %q: %v", def, err)
		}
	}
}
