using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace DeepShrink.Core;

/// <summary>
/// The kernels' fork-join pool: a few dedicated worker threads that, after a job, keep spinning for a short while
/// (<see cref="SpinMicros"/>) before they sleep, so the many short parallel regions of one inference call (a layer is
/// often 10-100 microseconds at batch 1) do not each pay a thread wake-up, which on a virtual machine costs about as
/// much as the layer. This is what ONNX Runtime's spinning intra-op pool does; <see cref="System.Threading.Tasks.Parallel"/>
/// hands work to sleeping pool threads instead.
/// </summary>
/// <remarks>
/// <see cref="Run(int, int, Action{int})"/> runs <c>body(part)</c> for every part in [0, parts): the caller and the workers take parts from the
/// two ends of an interlocked range (the caller from the front), so the caller never waits for a worker that has not woken up yet (it simply takes that part
/// itself); it waits only for parts already taken. Which thread runs a part does not change what the part computes,
/// so results never depend on the thread count. One job runs at a time: a call made while the pool is busy (another
/// inference call on another thread, or a nested region inside a part) falls back to
/// <see cref="System.Threading.Tasks.Parallel.For(int, int, ParallelOptions, Action{int})"/>. The first exception of
/// any part is rethrown to the caller (as itself, not wrapped) after every taken part has finished.
/// </remarks>
public static class WorkerPool
{
    /// <summary>
    /// How long an idle worker waits for the next job before it sleeps (microseconds): busy for the first
    /// <see cref="BusySpinMicros"/>, then yielding its core to any other runnable thread between checks. Long enough to
    /// bridge the gaps between the regions of back-to-back inference calls: a worker woken from sleep was measured to be
    /// queued behind the waking (busy) thread on the same core for 2-5 ms on a 2-vCPU VM (the scheduler's wake-affine
    /// placement), more than a whole batch-1 inference. (20 ms was tried: no faster here, and it keeps a core busier.)
    /// </summary>
    public const double SpinMicros = 2_000;

    /// <summary>Part of <see cref="SpinMicros"/> spent spinning without yielding.</summary>
    public const double BusySpinMicros = 50;

    private static readonly object s_startLock = new();
    private static readonly SemaphoreSlim s_wake = new(0);
    private static Thread[] s_workers = [];
    private static int s_busy;        // 1 while a job is published
    private static long s_generation; // incremented per job
    private static int s_sleepers;    // workers blocked on s_wake
    private static Job? s_job;
    private static long s_park;       // incremented by Park: waiting workers sleep at once

    [ThreadStatic] private static bool t_inPart;
    [ThreadStatic] private static bool t_lastPooled;

    /// <summary>Whether this thread's last multi-threaded region ran on this pool (else on the Parallel.For fallback).</summary>
    internal static bool LastRegionPooled => t_lastPooled;

    /// <summary>
    /// One region. The caller takes parts from the front (0, 1, ...) and the workers from the back (parts - 1, ...) until
    /// they meet, so the caller runs a region's first parts and the workers its last ones, every region alike. Regions
    /// cut the same way (position ranges in order, channel ranges in order) then leave each thread mostly the data it
    /// wrote itself in the region before: with parts taken in any order, each thread read about half of its input
    /// from the other core's cache, which on cores that share no cache (a host that placed the VM's two vCPUs apart)
    /// costs ~0.4-0.6 us a line. ResNet18 at batch 1, two threads, same process: 6-9 % faster with the vCPUs apart,
    /// no change with them together.
    /// </summary>
    private sealed class Job(int parts, int helpers, Action<int> body)
    {
        private long _ends = parts; // low 32 bits: the back end (exclusive), high 32 bits: the front end
        public int Done, Helpers = helpers;
        public readonly Action<int> Body = body;
        public Exception? Error;

        /// <summary>Takes the next part from the front or the back; -1 when none is left.</summary>
        private int Take(bool front)
        {
            while (true)
            {
                long ends = Volatile.Read(ref _ends);
                int lo = (int)(ends >> 32), hi = (int)ends;
                if (lo >= hi) return -1;
                long next = front ? ((long)(lo + 1) << 32) | (uint)hi : ((long)lo << 32) | (uint)(hi - 1);
                if (Interlocked.CompareExchange(ref _ends, next, ends) == ends) return front ? lo : hi - 1;
            }
        }

        /// <summary>Takes and runs parts until none is left (the caller from the front, workers from the back).</summary>
        public void Work(bool front)
        {
            int p;
            while ((p = Take(front)) >= 0)
            {
                try { Body(p); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                finally { Interlocked.Increment(ref Done); }
            }
        }
    }

    /// <summary>Runs <paramref name="body"/>(part) for every part in [0, <paramref name="parts"/>) on up to that many threads.</summary>
    public static void Run(int parts, Action<int> body) => Run(parts, parts, body);

    /// <summary>
    /// Runs <paramref name="body"/>(part) for every part in [0, <paramref name="parts"/>) on at most
    /// <paramref name="threads"/> threads (the caller included); parts are handed out one at a time.
    /// </summary>
    public static void Run(int parts, int threads, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (parts <= 0) return;
        threads = Math.Min(threads, parts);
        if (threads <= 1) { for (int p = 0; p < parts; p++) body(p); return; }
        if (t_inPart || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            t_lastPooled = false;
            // every part runs even after one throws, as on the pool (Parallel.For alone would stop starting parts), so
            // what a failing region leaves behind does not depend on whether the pool was busy
            Exception? first = null;
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = threads }, p =>
            {
                try { body(p); }
                catch (Exception e) { Interlocked.CompareExchange(ref first, e, null); }
            });
            if (first is not null) ExceptionDispatchInfo.Capture(first).Throw();
            return;
        }
        t_lastPooled = true;
        var job = new Job(parts, threads - 1, body);
        try
        {
            EnsureWorkers(threads - 1);
            Volatile.Write(ref s_job, job);
            Interlocked.Increment(ref s_generation);
            int sleeping = Volatile.Read(ref s_sleepers);
            if (sleeping > 0) s_wake.Release(Math.Min(sleeping, threads - 1));
            t_inPart = true;
            try { job.Work(front: true); }
            finally { t_inPart = false; }
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Done) < parts) spin.SpinOnce(sleep1Threshold: -1);
        }
        finally
        {
            Volatile.Write(ref s_job, null);
            Volatile.Write(ref s_busy, 0);
        }
        if (job.Error is { } error) ExceptionDispatchInfo.Capture(error).Throw();
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>) cut into <paramref name="parts"/> contiguous
    /// ranges (the cut depends only on the counts), on at most <paramref name="threads"/> threads (<see cref="Run(int, int, Action{int})"/>).
    /// </summary>
    public static void RunRanges(int count, int parts, int threads, Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run(parts, threads, p => body((int)((long)count * p / parts), (int)((long)count * (p + 1) / parts)));
    }

    /// <summary>
    /// Sends waiting workers to sleep now instead of at the end of their <see cref="SpinMicros"/>: for benchmarks that
    /// hand the cores to another engine (ONNX Runtime) right after ours, so that our waiting workers do not compete
    /// with its threads. The next region wakes them (its first parts may then run on the caller alone).
    /// </summary>
    public static void Park() => Interlocked.Increment(ref s_park);

    /// <summary>Worker threads started so far.</summary>
    public static int Workers => Volatile.Read(ref s_workers).Length;

    private static void EnsureWorkers(int wanted)
    {
        wanted = Math.Min(wanted, Math.Max(1, Environment.ProcessorCount - 1));
        if (Volatile.Read(ref s_workers).Length >= wanted) return;
        lock (s_startLock)
        {
            var old = s_workers;
            if (old.Length >= wanted) return;
            var all = old.Concat(Enumerable.Range(old.Length, wanted - old.Length).Select(i =>
            {
                var t = new Thread(Loop) { IsBackground = true, Name = $"deepshrink-worker-{i}" };
                t.Start();
                return t;
            })).ToArray();
            Volatile.Write(ref s_workers, all);
        }
    }

    private static void Loop()
    {
        t_inPart = true; // a region started inside a part runs on Parallel.For, never waits for this pool
        long seen = Volatile.Read(ref s_generation), parked = Volatile.Read(ref s_park);
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            long now;
            while ((now = Volatile.Read(ref s_generation)) == seen)
            {
                double waited = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                bool park = Volatile.Read(ref s_park) != parked;
                if (waited < BusySpinMicros && !park) { Thread.SpinWait(32); continue; }
                if (waited < SpinMicros && !park) { Thread.Yield(); continue; }
                parked = Volatile.Read(ref s_park);
                Interlocked.Increment(ref s_sleepers);
                if (Volatile.Read(ref s_generation) == seen) s_wake.Wait();
                Interlocked.Decrement(ref s_sleepers);
                start = Stopwatch.GetTimestamp();
            }
            seen = now;
            if (Volatile.Read(ref s_job) is { } job && Interlocked.Decrement(ref job.Helpers) >= 0) job.Work(front: false);
        }
    }
}
