package daemon

import (
	"fmt"
	"os"
	"time"

	"github.com/herald-oss/herald/analytics"
)

// exportStream builds the worker role's event exporter (nil without
// connectors). Each worker runs one; a lease on a connector's cursor lets
// one of them export it at a time.
func (n *node) exportStream() (*analytics.Exporter, error) {
	cs := n.cfg.ExportStream.Connectors
	if len(cs) == 0 {
		return nil, nil
	}
	conns := make([]analytics.Connector, 0, len(cs))
	for _, c := range cs {
		token, err := readSecret(n.cfg, c.Token, c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("export_stream connector %s: token: %w", c.Name, err)
		}
		conn := analytics.Connector{Name: c.Name, URL: c.URL, Token: token, BatchSize: c.BatchSize, FlushInterval: c.FlushInterval}
		if conn.BatchSize == 0 {
			conn.BatchSize = 500
		}
		if conn.FlushInterval == 0 {
			conn.FlushInterval = 5 * time.Second
		}
		conns = append(conns, conn)
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano())
	return analytics.New(n.store, conns, analytics.NewMetrics(n.registry), analytics.Options{Owner: owner, Log: n.log}), nil
}
