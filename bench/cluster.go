package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisCluster is a Redis Cluster of masters without replicas that the
// harness runs for --redis-cluster: one redis-server per master
// (cluster-enabled, no persistence) on a free loopback port, each in a
// directory under one temporary directory, the slots spread by redis-cli
// --cluster create.
type redisCluster struct {
	dir   string
	nodes []*redisServer
}

// startRedisCluster starts the masters, creates the cluster and waits until
// every node reports cluster_state:ok; stop stops them and removes the
// directory (also after a failed start).
func startRedisCluster(ctx context.Context, masters int) (_ *redisCluster, err error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("--redis-cluster needs redis-cli: %w", err)
	}
	dir, err := os.MkdirTemp("", "herald-bench-cluster-")
	if err != nil {
		return nil, err
	}
	c := &redisCluster{dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.stop())
		}
	}()
	for i := range masters {
		nodeDir := filepath.Join(dir, strconv.Itoa(i))
		if err := os.Mkdir(nodeDir, 0o700); err != nil {
			return nil, err
		}
		n, err := runRedisServer(ctx, nodeDir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--appendonly", "no")
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	args := append(append([]string{"--cluster", "create"}, c.addrs()...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	return c, c.waitOK(ctx, 30*time.Second)
}

// addrs are the masters' addresses.
func (c *redisCluster) addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// waitOK waits until every node reports cluster_state:ok (every slot served)
// and knows every master.
func (c *redisCluster) waitOK(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := "cluster_known_nodes:" + strconv.Itoa(len(c.nodes))
	for _, n := range c.nodes {
		rc := redis.NewClient(&redis.Options{Addr: n.addr})
		for {
			info, err := rc.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				rc.Close()
				return errors.Join(fmt.Errorf("cluster node %s not ok after %s: %v\n%s", n.addr, timeout, err, info), ctx.Err())
			}
			sleep(ctx, 100*time.Millisecond)
		}
		rc.Close()
	}
	return nil
}

// stop kills every node and removes the directory.
func (c *redisCluster) stop() error {
	errs := []error{}
	for _, n := range c.nodes {
		errs = append(errs, n.stop())
	}
	return errors.Join(append(errs, os.RemoveAll(c.dir))...)
}
