// ember-sdk-test drives Ember through Firecracker's own Go SDK
// (github.com/firecracker-microvm/firecracker-go-sdk, unchanged, the version
// pinned in go.mod) as a Firecracker user would: firecracker.NewMachine with
// a Config, m.Start, the SDK's calls on the running VM, m.Shutdown, m.Wait.
// Every SDK call that fails is a compatibility bug in Ember.
//
//	ember-sdk-test -ember BIN -dir DIR -guest tiny|linux [flags] CASE
//
// Cases (one VM flow each; DIR holds sockets, logs, snapshots, consoles):
//
//	lifecycle        boot with a root drive, a second drive and a network
//	                 interface; instance info, version, machine and VM
//	                 configuration; PATCH drive and network interface;
//	                 FlushMetrics; pause, snapshot, resume; Shutdown
//	                 (Ctrl-Alt-Del) and Wait: exit 0
//	restore          a snapshot of a running VM loaded by a second ember
//	                 through the SDK's WithSnapshot; the restored guest
//	                 answers and ends through Shutdown
//	default-command  the SDK's own command line (the binary named
//	                 firecracker on PATH: --api-sock, --id, --no-seccomp),
//	                 logger and metrics on FIFOs nobody reads; StopVMM
//	                 (SIGTERM) ends the VMM
//	errors           Ember's 400s decoded by the SDK as Firecracker's typed
//	                 errors with their fault_message
//	jailer           the SDK's jailer mode with ember-jailer: hard-linked
//	                 files in the jail, ember as -uid/-gid, Shutdown, Wait
//
// It prints "ok: <check>" per check passed; the first failure prints
// "FAIL: <why>" and exits 1. The guest's console is DIR/<vm>.console.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	firecracker "github.com/firecracker-microvm/firecracker-go-sdk"
	models "github.com/firecracker-microvm/firecracker-go-sdk/client/models"
	ops "github.com/firecracker-microvm/firecracker-go-sdk/client/operations"
	"github.com/sirupsen/logrus"
)

var (
	emberBin  = flag.String("ember", "", "ember binary")
	dir       = flag.String("dir", "", "scratch directory (sockets, logs, snapshots, consoles)")
	guestKind = flag.String("guest", "tiny", "tiny (tests/guest, scenario ctrl-alt-del) or linux (tests/linux, scenario cmd)")
	kernel    = flag.String("kernel", "", "kernel image")
	initrd    = flag.String("initrd", "", "initrd (linux)")
	baseArgs  = flag.String("args", "console=ttyS0 reboot=k", "kernel command line before the scenario")
	rootImg   = flag.String("root", "", "root drive image (attached read-only)")
	dataA     = flag.String("data", "", "second drive's image (read-only)")
	dataB     = flag.String("data2", "", "the image PATCH /drives swaps in")
	tap       = flag.String("tap", "", "host tap device (empty: no network interface)")
	mac       = flag.String("mac", "06:00:ac:10:00:02", "guest MAC")
	guestIP   = flag.String("guest-ip", "172.16.0.2", "guest address (linux, with -tap)")
	hostIP    = flag.String("host-ip", "172.16.0.1", "tap's address (linux, with -tap)")
	vcpus     = flag.Int64("vcpus", 1, "vCPUs")
	memMib    = flag.Int64("mem", 128, "memory in MiB")
	jailerBin = flag.String("jailer", "", "ember-jailer binary (case jailer)")
	jailUID   = flag.Int("uid", 4321, "uid the jailed ember runs as (case jailer)")
	jailGID   = flag.Int("gid", 4322, "gid the jailed ember runs as (case jailer)")
	waitSec   = flag.Int("timeout", 30, "seconds one wait for the guest may take")
	budget    = flag.Int("budget", 300, "seconds the whole case may take (its VMMs are killed then)")
)

// vmms: every ember started, killed when the run fails (os.Exit would
// leave them running, holding the tap and the guest's memory).
var vmms []*firecracker.Machine

// cleanups run at the end, failed or not, after the VMMs are gone.
var cleanups []func()

// fail ends the run with the first failure.
func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", a...)
	for _, m := range vmms {
		if pid, err := m.PID(); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
			for i := 0; i < 500 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	runCleanups()
	os.Exit(1)
}

func runCleanups() {
	for _, f := range cleanups {
		f()
	}
	cleanups = nil
}

func ok(format string, a ...interface{}) { fmt.Printf("ok: "+format+"\n", a...) }

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, describe(err))
	}
}

// describe shows a swagger error's payload (the fault_message) rather than
// its pointer.
func describe(err error) string {
	var payload interface{ GetPayload() *models.Error }
	if errors.As(err, &payload) && payload.GetPayload() != nil {
		return fmt.Sprintf("%v (fault_message %q)", err, payload.GetPayload().FaultMessage)
	}
	return err.Error()
}

// console is ember's stdout (the guest's serial console), kept in memory
// for waits and copied to a file for the test script.
type console struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	file *os.File
}

func newConsole(path string) *console {
	f, err := os.Create(path)
	check(err, "console file")
	return &console{file: f}
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	return c.file.Write(p)
}

func (c *console) has(text string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Contains(c.buf.Bytes(), []byte(text))
}

func (c *console) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines := strings.Split(strings.TrimRight(c.buf.String(), "\n"), "\n")
	if len(lines) > 4 {
		lines = lines[len(lines)-4:]
	}
	return strings.ReplaceAll(strings.Join(lines, "|"), "\r", "")
}

// wait polls until the console shows text; a VMM that exits first or a
// guest that never prints it fails the run.
func (c *console) wait(m *firecracker.Machine, text string) {
	c.waitFor(exited(m), text, func() bool { return c.has(text) })
}

// waitLine polls until a whole line containing prefix is on the console:
// the slow serial console hands a line over in pieces, and "b2 rc=" without
// its digits once read as an empty exit code.
func (c *console) waitLine(m *firecracker.Machine, prefix string) {
	c.waitFor(exited(m), prefix+" (a whole line)", func() bool { return c.hasLine(prefix) })
}

// waitFor polls seen() until it holds; gone closing first (the VMM exited)
// or the timeout fails the run.
func (c *console) waitFor(gone <-chan struct{}, what string, seen func() bool) {
	end := time.Now().Add(time.Duration(*waitSec) * time.Second)
	for !seen() {
		if time.Now().After(end) {
			fail("no %q on the console within %d s: %s", what, *waitSec, c.tail())
		}
		select {
		case <-gone:
			if seen() {
				return
			}
			fail("ember exited before the console showed %q: %s", what, c.tail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *console) hasLine(prefix string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buf.Bytes()
	i := bytes.Index(b, []byte(prefix))
	return i >= 0 && bytes.IndexByte(b[i:], '\n') >= 0
}

// exited is closed when the machine's VMM has exited.
func exited(m *firecracker.Machine) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		m.Wait(context.Background())
		close(ch)
	}()
	return ch
}

// A guest the SDK boots: what it prints once up, how it is asked things, how
// it ends on Ctrl-Alt-Del.
type guest struct {
	args     string // scenario on the kernel command line
	ready    string // console text once booted
	ended    string // console text once Ctrl-Alt-Del arrived ("" for none)
	commands bool   // has the command server (tests/linux/guest/init, cmd)
}

func pickGuest() guest {
	switch *guestKind {
	case "tiny":
		return guest{args: "ember.test=ctrl-alt-del", ready: "ctrl-alt-del: ready",
			ended: "ctrl-alt-del: received"}
	case "linux":
		return guest{args: "ember.t=cmd root=/dev/vda ro", ready: "EMBER-TEST: cmd=ready", commands: true}
	}
	fail("-guest must be tiny or linux, not %q", *guestKind)
	return guest{}
}

// vm is one ember process under the SDK.
type vm struct {
	name    string
	m       *firecracker.Machine
	con     *console
	stdin   *os.File // the console's input (linux command server)
	cmdSeq  int
	sdkLogs *os.File
}

func sdkLogger(name string) (*logrus.Entry, *os.File) {
	f, err := os.Create(filepath.Join(*dir, name+".sdk.log"))
	check(err, "SDK log file")
	l := logrus.New()
	l.SetOutput(f)
	l.SetLevel(logrus.DebugLevel)
	return logrus.NewEntry(l), f
}

// command builds ember's command line as a Firecracker user builds
// firecracker's: firecracker.VMCommandBuilder with the binary and socket.
func (v *vm) command(ctx context.Context, sock string, args ...string) *exec.Cmd {
	r, w, err := os.Pipe()
	check(err, "console input pipe")
	v.stdin = w
	stderr, err := os.Create(filepath.Join(*dir, v.name+".err"))
	check(err, "stderr file")
	return firecracker.VMCommandBuilder{}.
		WithBin(*emberBin).
		WithSocketPath(sock).
		AddArgs(args...).
		WithStdin(r).
		WithStdout(v.con).
		WithStderr(stderr).
		Build(ctx)
}

func newVM(name string) *vm {
	v := &vm{name: name, con: newConsole(filepath.Join(*dir, name+".console"))}
	return v
}

func (v *vm) path(suffix string) string { return filepath.Join(*dir, v.name+suffix) }

// run sends CMD to the Linux guest's command server and waits for its
// "ID rc=N"; returns N and the lines the command said ("EMBER-TEST: k=v").
func (v *vm) run(cmd string) (string, map[string]string) {
	v.cmdSeq++
	id := fmt.Sprintf("%s%d", v.name, v.cmdSeq)
	_, err := fmt.Fprintf(v.stdin, "%s %s\n", id, cmd)
	check(err, "write to the console")
	v.con.waitLine(v.m, "EMBER-TEST: "+id+" rc=")
	vals := map[string]string{}
	var rc string
	sc := bufio.NewScanner(strings.NewReader(v.con.snapshot()))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		i := strings.Index(line, "EMBER-TEST: ")
		if i < 0 {
			continue
		}
		for _, kv := range strings.Fields(line[i+len("EMBER-TEST: "):]) {
			if k, val, found := strings.Cut(kv, "="); found {
				vals[k] = val
			}
		}
		if strings.HasPrefix(line[i:], "EMBER-TEST: "+id+" rc=") {
			rc = strings.TrimPrefix(line[i:], "EMBER-TEST: "+id+" rc=")
		}
	}
	return rc, vals
}

func (v *vm) mustRun(cmd string) map[string]string {
	rc, vals := v.run(cmd)
	if rc != "0" {
		fail("guest command %q: rc=%s: %s", cmd, rc, v.con.tail())
	}
	return vals
}

func (c *console) snapshot() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// vmID: "sdk-" and the scratch dir's name, cut to what Firecracker's --id
// takes (alphanumerics and hyphens, at most 64).
func vmID() string {
	id := strings.Map(func(r rune) rune {
		if (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, "sdk-"+filepath.Base(*dir))
	if len(id) > 60 {
		id = id[:60]
	}
	return id
}

func bootConfig(g guest, sock string) firecracker.Config {
	cfg := firecracker.Config{
		SocketPath:      sock,
		KernelImagePath: *kernel,
		InitrdPath:      *initrd,
		KernelArgs:      *baseArgs + " " + g.args,
		Drives: firecracker.NewDrivesBuilder(*rootImg).
			WithRootDrive(*rootImg, firecracker.WithReadOnly(true)).
			AddDrive(*dataA, true, firecracker.WithDriveID("data")).
			Build(),
		MachineCfg: models.MachineConfiguration{
			VcpuCount:  firecracker.Int64(*vcpus),
			MemSizeMib: firecracker.Int64(*memMib),
			Smt:        firecracker.Bool(false),
		},
		VMID: vmID(),
	}
	if *tap != "" {
		cfg.NetworkInterfaces = firecracker.NetworkInterfaces{{
			StaticConfiguration: &firecracker.StaticNetworkConfiguration{
				MacAddress:  *mac,
				HostDevName: *tap,
			},
			AllowMMDS: true, // PUT /mmds/config naming interface "1"
		}}
		cfg.MmdsVersion = firecracker.MMDSv2
	}
	cfg.VsockDevices = []firecracker.VsockDevice{{ID: "vsock0", Path: filepath.Join(*dir, "v.sock"), CID: 3}}
	return cfg
}

// start boots a machine through the SDK and waits for the guest.
func start(ctx context.Context, v *vm, g guest, cfg firecracker.Config, opts ...firecracker.Opt) {
	logger, f := sdkLogger(v.name)
	v.sdkLogs = f
	opts = append([]firecracker.Opt{firecracker.WithLogger(logger),
		firecracker.WithProcessRunner(v.command(ctx, cfg.SocketPath, "--id", cfg.VMID))}, opts...)
	m, err := firecracker.NewMachine(ctx, cfg, opts...)
	check(err, "NewMachine")
	v.m = m
	vmms = append(vmms, m)
	check(m.Start(ctx), "Machine.Start")
	ok("%s: Machine.Start", v.name)
	if m.Cfg.Snapshot.SnapshotPath == "" { // a restored guest is past its boot
		v.con.wait(m, g.ready)
		ok("%s: the guest booted (%q on the console)", v.name, g.ready)
	}
}

func expectState(ctx context.Context, v *vm, want string) models.InstanceInfo {
	info, err := v.m.DescribeInstanceInfo(ctx)
	check(err, "DescribeInstanceInfo")
	if firecracker.StringValue(info.State) != want {
		fail("DescribeInstanceInfo: state %q, want %q", firecracker.StringValue(info.State), want)
	}
	return info
}

// shutdown: Ctrl-Alt-Del through the SDK, then the VMM must exit 0.
func shutdown(ctx context.Context, v *vm, g guest) {
	if g.commands {
		// Linux: Ctrl-Alt-Del restarts at once (reboot=k ends the VM).
		v.mustRun("echo 1 >/proc/sys/kernel/ctrl-alt-del")
	}
	check(v.m.Shutdown(ctx), "Machine.Shutdown (SendCtrlAltDel)")
	if g.ended != "" {
		v.con.wait(v.m, g.ended)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(*waitSec)*time.Second)
	defer cancel()
	if err := v.m.Wait(wctx); err != nil {
		fail("Machine.Wait after Shutdown: %v (want a clean exit): %s", err, v.con.tail())
	}
	ok("%s: Shutdown, then Wait returned nil (exit 0)", v.name)
}

func caseLifecycle(ctx context.Context, g guest) {
	v := newVM("a")
	cfg := bootConfig(g, v.path(".sock"))
	var logBuf lockedBuffer
	cfg.LogFifo = v.path(".log.fifo")
	cfg.FifoLogWriter = &logBuf
	cfg.LogLevel = "Debug"
	cfg.MetricsPath = v.path(".metrics")
	start(ctx, v, g, cfg)

	info := expectState(ctx, v, "Running")
	if firecracker.StringValue(info.AppName) != "Firecracker" || firecracker.StringValue(info.ID) != cfg.VMID ||
		firecracker.StringValue(info.VmmVersion) == "" {
		fail("DescribeInstanceInfo: %+v", info)
	}
	ok("DescribeInstanceInfo: app_name Firecracker, id %s, state Running, vmm_version %s",
		cfg.VMID, firecracker.StringValue(info.VmmVersion))

	version, err := v.m.GetFirecrackerVersion(ctx)
	check(err, "GetFirecrackerVersion")
	if version == "" {
		fail("GetFirecrackerVersion: empty")
	}
	ok("GetFirecrackerVersion: %s", version)

	client := firecracker.NewClient(cfg.SocketPath, v.m.Logger(), false)
	mc, err := client.GetMachineConfiguration()
	check(err, "GetMachineConfiguration")
	if firecracker.Int64Value(mc.Payload.VcpuCount) != *vcpus || firecracker.Int64Value(mc.Payload.MemSizeMib) != *memMib ||
		firecracker.BoolValue(mc.Payload.Smt) {
		fail("GetMachineConfiguration: %+v", mc.Payload)
	}
	ok("GetMachineConfiguration: vcpu_count %d, mem_size_mib %d, smt false", *vcpus, *memMib)

	checkVMConfig(client, cfg, *dataA)

	// PATCH /drives/data: a new backing file.
	check(v.m.UpdateGuestDrive(ctx, "data", *dataB), "UpdateGuestDrive (PATCH /drives/data)")
	checkVMConfig(client, cfg, *dataB)
	ok("UpdateGuestDrive: /vm/config names the new backing file")
	if g.commands {
		vals := v.mustRun("wait_path /dev/vdb 100 && say data=$(head16 /dev/vdb)")
		want := firstBytes(*dataB)
		if vals["data"] != want {
			fail("the guest reads %q from /dev/vdb after UpdateGuestDrive, want %q", vals["data"], want)
		}
		ok("the guest reads the new drive's bytes %q", want)
	}

	if *tap != "" {
		bucket := firecracker.TokenBucketBuilder{}.WithBucketSize(1 << 20).
			WithRefillDuration(100 * time.Millisecond).Build()
		opsBucket := firecracker.TokenBucketBuilder{}.WithBucketSize(1000).
			WithRefillDuration(time.Second).WithInitialSize(100).Build()
		limits := firecracker.RateLimiterSet{InRateLimiter: firecracker.NewRateLimiter(bucket, opsBucket)}
		check(v.m.UpdateGuestNetworkInterfaceRateLimit(ctx, "1", limits),
			"UpdateGuestNetworkInterfaceRateLimit (PATCH /network-interfaces/1)")
		ok("UpdateGuestNetworkInterfaceRateLimit")
		if g.commands {
			vals := v.mustRun("net_up " + *guestIP + "/24")
			if vals["mac"] != *mac {
				fail("the guest's eth0 MAC is %q, want %q", vals["mac"], *mac)
			}
			v.mustRun("ping -c 2 -W 10 " + *hostIP + " >/dev/null")
			ok("the guest's eth0 has MAC %s and pings the host's tap", *mac)
		}
	}

	if *tap != "" {
		// MMDS, configured by Start (AllowMMDS): the data store through the SDK.
		type meta struct {
			Latest struct {
				ID string `json:"id"`
			} `json:"latest"`
		}
		var put, got meta
		put.Latest.ID = cfg.VMID
		check(v.m.SetMetadata(ctx, put), "SetMetadata (PUT /mmds)")
		check(v.m.UpdateMetadata(ctx, map[string]interface{}{"extra": "patched"}), "UpdateMetadata (PATCH /mmds)")
		check(v.m.GetMetadata(ctx, &got), "GetMetadata (GET /mmds)")
		if got.Latest.ID != cfg.VMID {
			fail("GetMetadata: latest.id %q, want %q", got.Latest.ID, cfg.VMID)
		}
		ok("SetMetadata, UpdateMetadata, GetMetadata (MMDS V2 on interface 1)")
	}

	flush := models.InstanceActionInfoActionTypeFlushMetrics
	_, err = client.CreateSyncAction(ctx, &models.InstanceActionInfo{ActionType: &flush})
	check(err, "CreateSyncAction FlushMetrics")
	checkMetrics(cfg.MetricsPath)

	check(v.m.PauseVM(ctx), "PauseVM")
	expectState(ctx, v, "Paused")
	mem, snap := v.path(".mem"), v.path(".snap")
	check(v.m.CreateSnapshot(ctx, mem, snap), "CreateSnapshot")
	if st, err := os.Stat(mem); err != nil || st.Size() != *memMib<<20 {
		fail("snapshot memory file %s: %v (want %d bytes)", mem, statSize(st, err), *memMib<<20)
	}
	if st, err := os.Stat(snap); err != nil || st.Size() == 0 {
		fail("snapshot file %s: %v", snap, statSize(st, err))
	}
	check(v.m.ResumeVM(ctx), "ResumeVM")
	expectState(ctx, v, "Running")
	ok("PauseVM, CreateSnapshot (%d MiB memory file), ResumeVM", *memMib)
	if g.commands {
		v.mustRun("true")
		ok("the guest answers after ResumeVM")
	}

	shutdown(ctx, v, g)
	if logBuf.Len() == 0 {
		fail("the logger FIFO (Config.LogFifo, FifoLogWriter) carried nothing")
	}
	ok("the logger FIFO carried %d bytes", logBuf.Len())
	// The reader goroutine copies until ember closes its end: bounded wait.
	want := `received a PATCH request on "/drives/data"`
	for i := 0; !logBuf.has(want); i++ {
		if i == 100 {
			fail("the log (through the FIFO) has no %q", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ok("the log through the FIFO shows the PATCH request")
}

// checkVMConfig: GET /vm/config through the SDK shows what was configured.
func checkVMConfig(client *firecracker.Client, cfg firecracker.Config, data string) {
	resp, err := client.GetExportVMConfig()
	check(err, "GetExportVMConfig")
	c := resp.Payload
	if c.BootSource == nil || firecracker.StringValue(c.BootSource.KernelImagePath) != cfg.KernelImagePath {
		fail("GetExportVMConfig: boot-source %+v", c.BootSource)
	}
	if len(c.Drives) != 2 || !firecracker.BoolValue(c.Drives[0].IsRootDevice) ||
		firecracker.StringValue(c.Drives[0].PathOnHost) != *rootImg ||
		firecracker.StringValue(c.Drives[1].DriveID) != "data" ||
		firecracker.StringValue(c.Drives[1].PathOnHost) != data {
		b, _ := json.Marshal(c.Drives)
		fail("GetExportVMConfig: drives %s", b)
	}
	if *tap != "" && (len(c.NetworkInterfaces) != 1 ||
		firecracker.StringValue(c.NetworkInterfaces[0].HostDevName) != *tap ||
		c.NetworkInterfaces[0].GuestMac != *mac || firecracker.StringValue(c.NetworkInterfaces[0].IfaceID) != "1") {
		b, _ := json.Marshal(c.NetworkInterfaces)
		fail("GetExportVMConfig: network-interfaces %s", b)
	}
	if c.MachineConfig == nil || firecracker.Int64Value(c.MachineConfig.VcpuCount) != *vcpus {
		fail("GetExportVMConfig: machine-config %+v", c.MachineConfig)
	}
	ok("GetExportVMConfig: boot source, root and data drives, network interface, machine config")
}

// checkMetrics: after FlushMetrics the metrics file holds a JSON line with
// Firecracker's utc_timestamp_ms and api_server groups.
func checkMetrics(path string) {
	data, err := os.ReadFile(path)
	check(err, "metrics file")
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		fail("metrics file's last line is not JSON: %v: %.200s", err, lines[len(lines)-1])
	}
	for _, k := range []string{"utc_timestamp_ms", "api_server", "vmm"} {
		if _, found := m[k]; !found {
			fail("metrics line has no %q", k)
		}
	}
	ok("FlushMetrics: Config.MetricsPath holds a JSON metrics line")
}

func caseRestore(ctx context.Context, g guest) {
	a := newVM("a")
	cfg := bootConfig(g, a.path(".sock"))
	start(ctx, a, g, cfg)
	if g.commands {
		// The restored guest ends through Ctrl-Alt-Del: set up before the snapshot.
		a.mustRun("echo 1 >/proc/sys/kernel/ctrl-alt-del")
	}
	check(a.m.PauseVM(ctx), "PauseVM")
	mem, snap := a.path(".mem"), a.path(".snap")
	check(a.m.CreateSnapshot(ctx, mem, snap), "CreateSnapshot")
	ok("a: PauseVM, CreateSnapshot")
	check(a.m.StopVMM(), "StopVMM")
	wctx, cancel := context.WithTimeout(ctx, time.Duration(*waitSec)*time.Second)
	defer cancel()
	a.m.Wait(wctx)
	if wctx.Err() != nil {
		fail("a: ember did not end after StopVMM")
	}
	ok("a: StopVMM")

	b := newVM("b")
	resume := func(s *firecracker.SnapshotConfig) { s.ResumeVM = true }
	bcfg := firecracker.Config{SocketPath: b.path(".sock"), VMID: cfg.VMID + "-b", MetricsPath: b.path(".metrics")}
	start(ctx, b, g, bcfg, firecracker.WithSnapshot(mem, snap, resume))
	expectState(ctx, b, "Running")
	ok("b: WithSnapshot loaded the snapshot and resumed (state Running)")
	mc, err := firecracker.NewClient(bcfg.SocketPath, b.m.Logger(), false).GetMachineConfiguration()
	check(err, "b: GetMachineConfiguration")
	if firecracker.Int64Value(mc.Payload.MemSizeMib) != *memMib {
		fail("b: mem_size_mib %d after restore, want %d", firecracker.Int64Value(mc.Payload.MemSizeMib), *memMib)
	}
	if g.commands {
		vals := b.mustRun("say restored=yes")
		if vals["restored"] != "yes" {
			fail("b: the restored guest's command server did not answer")
		}
		ok("b: the restored guest answers on its console")
	}
	if strings.Contains(a.con.snapshot(), g.ended) && g.ended != "" {
		fail("a's guest saw Ctrl-Alt-Del")
	}
	// Shutdown reaches the restored guest: its state came through.
	shutdown(ctx, b, g)
}

// caseDefaultCommand: no process runner, so the SDK builds its own command
// line for "firecracker" (found on PATH: ember under that name) with --id and
// --no-seccomp; the logger and metrics go to FIFOs the SDK creates and
// nobody reads (Firecracker opens them read-write and non-blocking).
func caseDefaultCommand(ctx context.Context, g guest) {
	bin := filepath.Join(*dir, "bin")
	check(os.MkdirAll(bin, 0755), "bin dir")
	check(os.Symlink(*emberBin, filepath.Join(bin, "firecracker")), "firecracker symlink")
	check(os.Setenv("PATH", bin+":"+os.Getenv("PATH")), "PATH")

	v := newVM("a")
	cfg := bootConfig(g, v.path(".sock"))
	cfg.LogFifo = v.path(".log.fifo")
	cfg.MetricsFifo = v.path(".metrics.fifo")
	cfg.LogLevel = "Info"
	cfg.Seccomp = firecracker.SeccompConfig{Enabled: false}
	logger, f := sdkLogger(v.name)
	defer f.Close()
	m, err := firecracker.NewMachine(ctx, cfg, firecracker.WithLogger(logger))
	check(err, "NewMachine")
	v.m = m
	vmms = append(vmms, m)
	check(m.Start(ctx), "Machine.Start (the SDK's own firecracker command line)")
	ok("Machine.Start: ember accepted --api-sock, --id, --no-seccomp")
	info := expectState(ctx, v, "Running")
	if firecracker.StringValue(info.ID) != cfg.VMID {
		fail("DescribeInstanceInfo: id %q, want the --id %q", firecracker.StringValue(info.ID), cfg.VMID)
	}
	ok("DescribeInstanceInfo: id %s from --id", cfg.VMID)
	for _, p := range []string{cfg.LogFifo, cfg.MetricsFifo} {
		if st, err := os.Stat(p); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			fail("%s is not the FIFO the SDK made: %v", p, err)
		}
	}
	ok("PUT /logger and PUT /metrics on FIFOs without a reader")
	check(m.StopVMM(), "StopVMM")
	wctx, cancel := context.WithTimeout(ctx, time.Duration(*waitSec)*time.Second)
	defer cancel()
	err = m.Wait(wctx)
	if wctx.Err() != nil {
		fail("ember did not end after StopVMM (SIGTERM)")
	}
	if err == nil || !strings.Contains(err.Error(), "terminated") {
		fail("Machine.Wait after StopVMM: %v, want the SIGTERM ending the VMM as it ends Firecracker", err)
	}
	ok("StopVMM: ember ended by SIGTERM (%s)", strings.Join(strings.Fields(err.Error()), " "))
}

// caseJailer: the SDK's jailer mode (JailerCfg with the naive chroot
// strategy) with ember-jailer as the jailer: it builds ember-jailer's command
// line (--id, --uid, --gid, --exec-file, --cgroup cpuset.* for NUMA node 0,
// --chroot-base-dir, -- --api-sock /run/firecracker.socket), hard-links the
// kernel, initrd and root drive into the jail once it exists and configures
// them by their names inside it; default seccomp filters.
func caseJailer(ctx context.Context, g guest) {
	if *jailerBin == "" {
		fail("case jailer needs -jailer")
	}
	v := newVM("a")
	cfg := bootConfig(g, "")
	cfg.Drives = firecracker.NewDrivesBuilder(*rootImg).WithRootDrive(*rootImg, firecracker.WithReadOnly(true)).Build()
	cfg.Seccomp = firecracker.SeccompConfig{Enabled: true}
	cfg.VsockDevices = nil // its uds_path would be a path inside the jail
	r, w, err := os.Pipe()
	check(err, "console input pipe")
	v.stdin = w
	stderr, err := os.Create(v.path(".err"))
	check(err, "stderr file")
	cfg.JailerCfg = &firecracker.JailerConfig{
		UID:            firecracker.Int(*jailUID),
		GID:            firecracker.Int(*jailGID),
		ID:             cfg.VMID,
		NumaNode:       firecracker.Int(0),
		ExecFile:       *emberBin,
		JailerBinary:   *jailerBin,
		ChrootBaseDir:  filepath.Join(*dir, "jail"),
		ChrootStrategy: firecracker.NewNaiveChrootStrategy(*kernel),
		Stdout:         v.con,
		Stderr:         stderr,
		Stdin:          r,
	}
	// The jailer's cgroups (NUMA node 0's cpuset, named after the exec file
	// and the id) outlive the VM, as Firecracker's jailer's do.
	cleanups = append(cleanups, func() {
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", filepath.Base(*emberBin), cfg.VMID))
		more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", filepath.Base(*emberBin), cfg.VMID))
		for _, d := range append(dirs, more...) {
			syscall.Rmdir(d)
		}
	})
	// The base must exist, as for Firecracker's jailer (it canonicalizes it).
	check(os.MkdirAll(cfg.JailerCfg.ChrootBaseDir, 0755), "chroot base dir")
	logger, f := sdkLogger(v.name)
	defer f.Close()
	m, err := firecracker.NewMachine(ctx, cfg, firecracker.WithLogger(logger))
	check(err, "NewMachine (jailer)")
	v.m = m
	vmms = append(vmms, m)
	check(m.Start(ctx), "Machine.Start (ember-jailer)")
	ok("Machine.Start through ember-jailer")
	v.con.wait(m, g.ready)
	ok("the jailed guest booted (%q on the console)", g.ready)
	expectState(ctx, v, "Running")
	pid, err := m.PID()
	check(err, "PID")
	st, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	check(err, "/proc/PID")
	if sys, isStat := st.Sys().(*syscall.Stat_t); !isStat || int(sys.Uid) != *jailUID {
		fail("the jailed ember (pid %d) does not run as uid %d", pid, *jailUID)
	}
	// Its / is the jail (pivoted in its own mount namespace: compare files).
	root := filepath.Join(*dir, "jail", filepath.Base(*emberBin), cfg.VMID, "root")
	inJail, err := os.Stat(filepath.Join(root, filepath.Base(*kernel)))
	check(err, "the kernel linked into the jail")
	seen, err := os.Stat(fmt.Sprintf("/proc/%d/root/%s", pid, filepath.Base(*kernel)))
	check(err, "the kernel as the jailed ember sees it")
	if !os.SameFile(inJail, seen) {
		fail("the jailed ember's / is not %s", root)
	}
	ok("ember runs as uid %d with %s as its /", *jailUID, root)
	shutdown(ctx, v, g)
}

// caseErrors: Ember's 400s reach the SDK as Firecracker's typed errors with
// their fault_message, on a fresh ember driven by the SDK's client alone.
func caseErrors(ctx context.Context, g guest) {
	v := newVM("a")
	sock := v.path(".sock")
	cmd := v.command(ctx, sock)
	check(cmd.Start(), "start ember")
	m, err := firecracker.NewMachine(ctx, firecracker.Config{SocketPath: sock}, firecracker.WithProcessRunner(cmd))
	check(err, "NewMachine")
	vmms = append(vmms, m) // for m.PID(): this VMM is driven by the SDK's client alone
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 500 {
			fail("ember's API socket never appeared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	logger, f := sdkLogger(v.name)
	defer f.Close()
	c := firecracker.NewClient(sock, logger, false)

	_, err = c.PutMachineConfiguration(ctx, &models.MachineConfiguration{
		VcpuCount: firecracker.Int64(0), MemSizeMib: firecracker.Int64(128)})
	expectFault(err, &ops.PutMachineConfigurationBadRequest{}, "vcpu_count 0")

	start := models.InstanceActionInfoActionTypeInstanceStart
	_, err = c.CreateSyncAction(ctx, &models.InstanceActionInfo{ActionType: &start})
	expectFault(err, &ops.CreateSyncActionBadRequest{}, "InstanceStart without a boot source")

	_, err = c.PatchVM(ctx, &models.VM{State: firecracker.String(models.VMStatePaused)})
	expectFault(err, &ops.PatchVMBadRequest{}, "PatchVM Paused before boot")

	_, err = c.PutGuestDriveByID(ctx, "root", &models.Drive{DriveID: firecracker.String("root"),
		PathOnHost: firecracker.String(v.path(".missing")), IsRootDevice: firecracker.Bool(true),
		IsReadOnly: firecracker.Bool(true)})
	expectFault(err, &ops.PutGuestDriveByIDBadRequest{}, "a drive whose file does not exist")

	_, err = c.PatchGuestDriveByID(ctx, "nosuch", v.path(".missing"))
	expectFault(err, &ops.PatchGuestDriveByIDBadRequest{}, "PatchGuestDriveByID before boot")

	_, err = c.LoadSnapshot(ctx, &models.SnapshotLoadParams{MemFilePath: firecracker.String(v.path(".nomem")),
		SnapshotPath: firecracker.String(v.path(".nosnap"))})
	// Refused: boot-specific requests came first (failed ones count too, as in Firecracker).
	expectFault(err, &ops.LoadSnapshotBadRequest{}, "LoadSnapshot after boot-specific requests")

	// The machine is still unconfigured and usable: a valid request succeeds.
	_, err = c.PutMachineConfiguration(ctx, &models.MachineConfiguration{
		VcpuCount: firecracker.Int64(1), MemSizeMib: firecracker.Int64(64)})
	check(err, "PutMachineConfiguration after the errors")
	ok("a valid PutMachineConfiguration after the errors")
}

// expectFault: err is the SDK's BadRequest type for the call, carrying a
// non-empty fault_message.
func expectFault(err error, want interface{ GetPayload() *models.Error }, what string) {
	if err == nil {
		fail("%s: the SDK call succeeded, want a 400", what)
	}
	var payload interface{ GetPayload() *models.Error }
	if !errors.As(err, &payload) || fmt.Sprintf("%T", payload) != fmt.Sprintf("%T", want) {
		fail("%s: the SDK got %T (%v), want %T", what, err, err, want)
	}
	if payload.GetPayload() == nil || payload.GetPayload().FaultMessage == "" {
		fail("%s: %T without a fault_message", what, err)
	}
	ok("%s: %T, fault_message %q", what, err, payload.GetPayload().FaultMessage)
}

// lockedBuffer is the logger FIFO's reader side (the SDK copies into it
// from a goroutine).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) has(text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.b.Bytes(), []byte(text))
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// firstBytes: the first 16 bytes of FILE as the guest's head16 shows them.
func firstBytes(path string) string {
	f, err := os.Open(path)
	check(err, "open "+path)
	defer f.Close()
	b := make([]byte, 16)
	n, _ := io.ReadFull(f, b)
	return strings.Map(func(r rune) rune {
		if (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || strings.ContainsRune("_.:-", r) {
			return r
		}
		return '.'
	}, string(b[:n]))
}

func statSize(st os.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d bytes", st.Size())
}

func main() {
	flag.Parse()
	if flag.NArg() != 1 || *emberBin == "" || *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: ember-sdk-test -ember BIN -dir DIR [-guest tiny|linux] [flags] lifecycle|restore|default-command|errors|jailer")
		os.Exit(2)
	}
	g := pickGuest()
	// Absolute: the default-command case links it into a PATH directory.
	bin, err := filepath.Abs(*emberBin)
	check(err, "ember path")
	*emberBin = bin
	// Every SDK call and wait is bounded; a hung VMM is killed with the context.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*budget)*time.Second)
	defer cancel()
	go func() {
		<-ctx.Done()
		if ctx.Err() == context.DeadlineExceeded {
			fail("the case took longer than -budget %d s", *budget)
		}
	}()
	switch flag.Arg(0) {
	case "lifecycle":
		caseLifecycle(ctx, g)
	case "restore":
		caseRestore(ctx, g)
	case "default-command":
		caseDefaultCommand(ctx, g)
	case "errors":
		caseErrors(ctx, g)
	case "jailer":
		caseJailer(ctx, g)
	default:
		fail("unknown case %q", flag.Arg(0))
	}
	runCleanups()
	fmt.Println("PASSED")
}
