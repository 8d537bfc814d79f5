package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// fakesCmd runs the fake providers and writes a config pointing at them.
func (c *cli) fakesCmd(ctx context.Context, args []string) error {
	fs := c.flags("fakes")
	addr := fs.String("addr", "127.0.0.1:8443", "address of the fake providers' TLS listener")
	out := fs.String("write-config", "", "write a Herald config whose apps use the fakes to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger(defaultLog(), c.stderr, c.env.Map)
	f, err := newFakeProviders(*addr, log, fakeApps{ios: fakeIOS, android: fakeAndroid, web: fakeWeb})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := f.writeConfig(*out); err != nil {
			return err
		}
	}
	var cacert string
	if *out != "" {
		cacert = filepath.Join(filepath.Dir(*out), trimExt(filepath.Base(*out))+"-ca.pem")
	} else {
		tmp, err := os.CreateTemp("", "herald-fakes-ca-*.pem")
		if err != nil {
			return err
		}
		_, err = tmp.Write(f.ca.PEM())
		tmp.Close()
		if err != nil {
			return err
		}
		cacert = tmp.Name()
		defer os.Remove(cacert)
	}
	fmt.Fprintf(c.stdout, `Fake providers (APNs, FCM, Web Push) on %[1]s — for tests and development only.
`, f.base)
	if *out != "" {
		fmt.Fprintf(c.stdout, `Config written to %[1]s with the apps fake-ios, fake-android and fake-web.
  Send one message:   herald send-test -c %[1]s --platform android --token any-token
`, *out)
	}
	fmt.Fprintf(c.stdout, `  Accepted messages:  curl --cacert %[2]s %[1]s/_fake/messages   (DELETE clears them)
  Web Push subscriber: curl --cacert %[2]s -X POST %[1]s/_fake/webpush/subscribe
                      returns a PushSubscription JSON; register it as a push_tokens token of
                      fake-web, or pass it to herald send-test --platform web --subscription '<json>'
  Token words: unregistered (gone), baddevice (invalid), throttle (429 once), flaky (503 once), slow (200 ms)
`, f.base, cacert)
	return runComponents(ctx, log, defaultDrain, []component{f}, f.l.Failed())
}

func trimExt(name string) string { return name[:len(name)-len(filepath.Ext(name))] }
