package daemon

import "github.com/redis/go-redis/v9"

func redisURL(u string) (*redis.Options, error) { return redis.ParseURL(u) }
