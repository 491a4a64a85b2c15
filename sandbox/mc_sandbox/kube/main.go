// Command mc-kube is one multi-call binary holding the upstream programs the
// local sandbox needs to run real Kubernetes control planes with simulated
// nodes: kube-apiserver, kube-controller-manager, kube-scheduler, etcd and
// kwok. One binary means one build, one cache entry and one copy of the
// dependencies they share (121 MB in all, where the five upstream binaries
// would take several times that).
//
// Usage: mc-kube <command> [flags...], or symlink mc-kube to a command name
// (busybox style). Every command receives exactly the flags its upstream
// binary takes.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	_ "time/tzdata" // CronJob time zones, as the upstream apiserver and controller-manager mains import

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json, as upstream mains
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream mains
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream mains
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"
)

var commands = map[string]func() int{
	"kube-apiserver":          func() int { return cli.Run(apiserver.NewAPIServerCommand()) },
	"kube-controller-manager": func() int { return cli.Run(controllermanager.NewControllerManagerCommand()) },
	"kube-scheduler":          func() int { return cli.Run(scheduler.NewSchedulerCommand()) },
	"etcd":                    func() int { etcdmain.Main(os.Args); return 0 },
	"kwok":                    runKwok,
	"version":                 printVersion,
}

func main() {
	name := filepath.Base(os.Args[0])
	if _, ok := commands[name]; !ok {
		if len(os.Args) < 2 {
			usage()
			os.Exit(2)
		}
		name = os.Args[1]
		// The upstream commands read os.Args themselves (cobra's Execute,
		// etcd's flag parsing, kwok's pre-parse of --config), so make it look
		// exactly as if the upstream binary had been run.
		os.Args = append([]string{name}, os.Args[2:]...)
	}
	run, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "mc-kube: unknown command %q\n", name)
		usage()
		os.Exit(2)
	}
	os.Exit(run())
}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: mc-kube <command> [flags]\ncommands: %v\n", names)
}

// runKwok mirrors sigs.k8s.io/kwok/cmd/kwok (that package is a main, so it
// cannot be imported): logging and --config (KwokConfiguration and Stage
// documents) are global flags parsed before the root command is built.
func runKwok() int {
	// cobra merges pflag.CommandLine into every root command, and the
	// Kubernetes packages linked in here put their --version (a non-bool
	// verflag) there at init, which breaks kwok's own --version. The upstream
	// kwok binary links none of them, so give it the empty set it expects.
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)

	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsWhitelist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := kwoksignals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		_, _ = os.Stderr.Write([]byte(flagset.FlagUsages()))
		logger.Error("Init config flags", err)
		return 1
	}

	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", err)
		return 1
	}
	return 0
}

// printVersion reports the upstream versions actually linked in, read from
// the embedded module information so it can never drift from go.mod.
func printVersion() int {
	want := map[string]string{
		"k8s.io/kubernetes":         "kubernetes",
		"go.etcd.io/etcd/server/v3": "etcd",
		"sigs.k8s.io/kwok":          "kwok",
	}
	out := map[string]string{"go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if key, ok := want[m.Path]; ok {
				if m.Replace != nil {
					m = m.Replace
				}
				out[key] = m.Version
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return 1
	}
	return 0
}
