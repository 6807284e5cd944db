// CoreDNS with only the plugins the local test node's cluster DNS uses (the stock binary
// links every plugin, including the cloud SDKs, and takes several times longer to build).
// Built by test/node/build.sh from the pinned github.com/coredns/coredns module.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func init() {
	// The same relative order as CoreDNS's plugin.cfg, restricted to the plugins above.
	dnsserver.Directives = []string{"reload", "ready", "health", "errors", "log", "cache", "kubernetes"}
}

func main() {
	coremain.Run()
}
