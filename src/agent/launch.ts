/**
 * How the agent process starts in the image: the V8 flags and the startup snapshot its DaemonSet
 * runs it with (controller/dataplane/daemonset.ts), which the image build uses to make the
 * snapshot (hack/image/bundle.js, Dockerfile) and the bench measures. A snapshot only loads under
 * the V8 flags it was built with: Node refuses to start otherwise ("built with a different version
 * of V8 or with different V8 configurations"), so both come from here.
 */

/**
 * V8 flags of the agent process (its DaemonSet's NODE_OPTIONS); the bench measures the same. Only
 * flags Node allows in NODE_OPTIONS (the unit test runs node with them). Measured in the netns lab
 * (make bench, issue 13), RSS at convergence:
 * - --max-semi-space-size=1: a 1 MiB young generation instead of 16, about 14 MiB less at 1,000
 *   peers; the agent allocates little per pass.
 * - --jitless: no optimizing compilers (their code pages, zones and compile threads' heaps), 8 MiB
 *   less at 1,000 peers (70 -> 62) and 10 at 5,000 (96 -> 86); CPU to converge the same or less
 *   (its passes are short), a periodic full resync ~20% more CPU. It turns WebAssembly off (V8
 *   says so on stderr at start); the agent runs none.
 * What they cost without the snapshot: any V8 flag that changes V8's flag hash (both of these do;
 * --stack-size does not) makes Node reject the code cache built into its binary, so every Node
 * module the agent loads is compiled from source (~20-25 ms of CPU at start). The snapshot
 * (AGENT_SNAPSHOT_BLOB) carries a code cache built under these flags. Tried instead (1,000 peers,
 * one run each on a loaded machine, so CPU only roughly): no flags, and the young generation
 * capped from main.ts after the modules are loaded (v8.setFlagsFromString of
 * --semi-space-growth-factor=1, which keeps the cache): CPU to converge 0.49 s, RSS 73 MiB (the
 * JIT's compile threads); the same plus --no-opt --no-sparkplug at run time: 0.47 s, 67 MiB; these
 * flags in the same runs 0.41-0.47 s, 59-61 MiB. A larger young generation means fewer
 * scavenges before converging (--trace-gc, main thread): 42 taking 40 ms at 1 MiB, 24 taking 29 ms
 * at 2, 14 (and one mark-compact) taking 30 ms at 4, for 59, 63 and 66 MiB: not taken, RSS is the
 * scarcer budget at 1,000 peers.
 */
export const AGENT_NODE_OPTIONS = '--max-semi-space-size=1 --jitless';

/** The application tree in the image (hack/image/bundle.js --app). */
export const APP_DIR = '/opt/flannel-operator';

/**
 * The agent's startup snapshot in the image (snapshot.ts says what it holds). Built by the image
 * build, with the image's own node, at this path: the blob records where its script was.
 */
export const AGENT_SNAPSHOT_BLOB = `${APP_DIR}/agent.blob`;

/** The agent container's command: node from the snapshot, then the agent's flags as args. */
export const AGENT_COMMAND = ['node', '--snapshot-blob', AGENT_SNAPSHOT_BLOB, 'agent'];
