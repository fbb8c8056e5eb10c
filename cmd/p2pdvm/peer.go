package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/p2pdvm/p2pdvm/dvm"
)

func init() {
	var listen, bootstrap *[]string
	var data, security, logLevel *string
	var repairEvery, gcGrace *time.Duration
	var withFloc, rankDirect *bool
	var sbox sandboxFlags
	register(&command{
		name:    "peer",
		summary: "run a long-lived peer of the DVM",
		usage:   "[--listen MULTIADDR...] [--bootstrap MULTIADDR...] [--data DIR]",
		example: "p2pdvm peer --listen /ip4/0.0.0.0/tcp/4801 --bootstrap /ip4/10.0.0.5/tcp/4801/p2p/12D3KooW...",
		flags: func(fs *pflag.FlagSet) {
			def := dvm.DefaultConfig("")
			listen = fs.StringSlice("listen", orDefault(envList("LISTEN"), def.ListenAddrs), "multiaddrs to listen on [$P2PDVM_LISTEN]")
			bootstrap = fs.StringSlice("bootstrap", envList("BOOTSTRAP"), "peers to join through, /p2p/ID included; none means start a new DVM [$P2PDVM_BOOTSTRAP]")
			data = fs.String("data", defaultDataDir(), "data dir: identity, sockets, cache, logs [$P2PDVM_DATA]")
			security = fs.String("security", env("SECURITY", def.Security), "preferred secure channel: tls or noise [$P2PDVM_SECURITY]")
			repairEvery = fs.Duration("repair-interval", def.RepairInterval, "how often to check held blocks' replicas and renew pins (0: never)")
			gcGrace = fs.Duration("gc-grace", def.GCGrace, "store gc never frees blocks written more recently than this")
			withFloc = fs.Bool("floc", envBool("FLOC", def.Floc.Enabled), "give chatty rank pairs shortcuts; off routes every message through owners [$P2PDVM_FLOC]")
			rankDirect = fs.Bool("rank-direct", envBool("RANK_DIRECT", def.RankDirect), "let chatty ranks connect to each other directly [$P2PDVM_RANK_DIRECT]")
			logLevel = fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error [$P2PDVM_LOG_LEVEL]")
			sbox = addSandboxFlags(fs, true)
		},
		run: func(fs *pflag.FlagSet, args []string) int {
			if len(args) > 0 {
				return fail("peer", fmt.Errorf("unexpected argument %q", args[0]))
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
				return fail("peer", fmt.Errorf("--log-level: %w", err))
			}
			cfg := dvm.DefaultConfig(*data)
			cfg.ListenAddrs, cfg.Bootstrap, cfg.Security = *listen, *bootstrap, *security
			cfg.RepairInterval, cfg.GCGrace = *repairEvery, *gcGrace
			cfg.Floc.Enabled, cfg.RankDirect = *withFloc, *rankDirect
			if err := sbox.apply(&cfg); err != nil {
				return fail("peer", err)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			// For developers: a CPU profile of the peer's whole life.
			if path := os.Getenv("P2PDVM_CPUPROFILE"); path != "" {
				f, err := os.Create(path)
				if err != nil {
					return fail("peer", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return fail("peer", err)
				}
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			p, err := dvm.New(ctx, cfg)
			if err != nil {
				return fail("peer", err)
			}
			fmt.Printf("peer id: %s\n", p.ID())
			for _, a := range p.Addrs() {
				fmt.Printf("listening on %s\n", a)
			}
			fmt.Printf("control socket: %s\n", p.ControlSocket())
			<-ctx.Done()
			fmt.Println("leaving the DVM")
			if err := p.Close(); err != nil {
				return fail("peer", err)
			}
			return 0
		},
	})
}

func orDefault(v, def []string) []string {
	if len(v) > 0 {
		return v
	}
	return def
}
