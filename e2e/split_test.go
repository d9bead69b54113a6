package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// splitShape reports whether the suite runs against the split deployment
// (E2E_SHAPE=split): separate control-plane, storage-node and gateway
// processes instead of one warren serve.
func splitShape() bool { return os.Getenv("E2E_SHAPE") == "split" }

// splitGatewayTimeout is the deployment's --gateway-timeout: a SIGKILLed
// gateway's exclusive queues and unacked messages are dealt with within it.
// Shorter than the 10 s default, to keep the suite quick and to show that
// the flag reaches every process.
const splitGatewayTimeout = 5 * time.Second

// splitDeployment is 1 control plane, 2 storage nodes and 2 gateways, each
// its own process, wired through the control plane's embedded NATS.
type splitDeployment struct {
	procs    []*splitProc // in start order
	gateways []string     // AMQP URLs
	natsURL  string       // the control plane's embedded NATS
	apiURL   string       // the control plane's HTTP port, with the provisioning API
	apiToken string       // the file holding the API admin token it generated
}

type splitProc struct {
	name   string
	bin    string
	args   []string
	ready  string
	cmd    *exec.Cmd
	output *lockedBuffer
	exited chan struct{}
}

// launchSplit starts the deployment in dir and waits until every process
// accepts connections.
func launchSplit(dir string) (*splitDeployment, error) {
	bin, err := buildWarren()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(9)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	natsURL := "nats://" + addr(0)
	gwTimeout := []string{"--gateway-timeout", splitGatewayTimeout.String()}
	d := &splitDeployment{natsURL: natsURL, apiURL: "http://" + addr(1),
		apiToken: filepath.Join(dir, "cp", "api-admin-token")}
	steps := []struct {
		name  string
		ready string
		args  []string
	}{
		{"control-plane", addr(2), append([]string{"control-plane", "--data-dir", filepath.Join(dir, "cp"),
			"--nats-addr", addr(0), "--http-addr", addr(1), "--grpc-addr", addr(2)}, gwTimeout...)},
		{"storage-node-1", addr(3), append([]string{"storage-node", "--data-dir", filepath.Join(dir, "sn1"),
			"--grpc-addr", addr(3), "--nats-url", natsURL, "--name", "sn1"}, gwTimeout...)},
		{"storage-node-2", addr(4), append([]string{"storage-node", "--data-dir", filepath.Join(dir, "sn2"),
			"--grpc-addr", addr(4), "--nats-url", natsURL, "--name", "sn2"}, gwTimeout...)},
		{"gateway-1", addr(5), append([]string{"gateway", "--amqp-addr", addr(5), "--http-addr", addr(6),
			"--nats-url", natsURL}, gwTimeout...)},
		{"gateway-2", addr(7), append([]string{"gateway", "--amqp-addr", addr(7), "--http-addr", addr(8),
			"--nats-url", natsURL}, gwTimeout...)},
	}
	for _, s := range steps {
		p, err := startSplitProc(bin, s.name, s.args, s.ready)
		if err != nil {
			d.stop()
			return nil, err
		}
		d.procs = append(d.procs, p)
	}
	d.gateways = []string{"amqp://guest:guest@" + addr(5) + "/", "amqp://guest:guest@" + addr(7) + "/"}
	return d, nil
}

func startSplitProc(bin, name string, args []string, ready string) (*splitProc, error) {
	p := &splitProc{name: name, bin: bin, args: args, ready: ready,
		cmd: exec.Command(bin, args...), output: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(warrenStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited during start:\n%s", name, p.output.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", ready, 200*time.Millisecond); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = p.cmd.Process.Kill()
	return nil, fmt.Errorf("%s not listening on %s after %v:\n%s", name, ready, warrenStartTimeout, p.output.String())
}

// stop ends the processes, gateways first, with SIGTERM and then SIGKILL.
func (d *splitDeployment) stop() {
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(warrenStopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for len(ports) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// kill SIGKILLs process i and waits for it to be gone.
func (d *splitDeployment) kill(i int) {
	_ = d.procs[i].cmd.Process.Kill()
	<-d.procs[i].exited
}

// restart starts process i again with its arguments and ports.
func (d *splitDeployment) restart(i int) error {
	p := d.procs[i]
	np, err := startSplitProc(p.bin, p.name, p.args, p.ready)
	if err != nil {
		return err
	}
	d.procs[i] = np
	return nil
}
