using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DeepShrink.Bench;

/// <summary>Which clock times a measurement.</summary>
public enum BenchClock
{
    /// <summary>Wall-clock time (<see cref="Stopwatch"/>).</summary>
    Wall,

    /// <summary>
    /// CPU time of the calling thread (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>): time the thread was
    /// not running, e.g. pre-empted on a shared machine, is not counted. Only meaningful for work
    /// done on the calling thread; falls back to <see cref="Wall"/> where unavailable.
    /// </summary>
    ThreadCpu,

    /// <summary>
    /// CPU time of all threads of this process (Linux <c>CLOCK_PROCESS_CPUTIME_ID</c>): counts the
    /// worker threads of parallel kernels but not other processes' load; falls back to <see cref="Wall"/>.
    /// </summary>
    ProcessCpu,
}

/// <summary>Reads the clocks of <see cref="BenchClock"/> in seconds.</summary>
public static partial class BenchClocks
{
    private const int ClockProcessCpuTimeId = 2, ClockThreadCpuTimeId = 3;

    /// <summary>True when <see cref="BenchClock.ThreadCpu"/> and <see cref="BenchClock.ProcessCpu"/> are really CPU times here.</summary>
    public static bool ThreadCpuSupported { get; } = ProbeThreadCpu();

    /// <summary>The clock actually used when <paramref name="clock"/> is requested.</summary>
    public static BenchClock Effective(BenchClock clock) =>
        clock != BenchClock.Wall && !ThreadCpuSupported ? BenchClock.Wall : clock;

    /// <summary>Current reading of <paramref name="clock"/>, seconds from an arbitrary origin.</summary>
    public static double Now(BenchClock clock)
    {
        var effective = Effective(clock);
        if (effective != BenchClock.Wall
            && clock_gettime(effective == BenchClock.ThreadCpu ? ClockThreadCpuTimeId : ClockProcessCpuTimeId, out var ts) == 0)
            return ts.Seconds + ts.Nanoseconds * 1e-9;
        return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
    }

    private static bool ProbeThreadCpu()
    {
        if (!OperatingSystem.IsLinux() || IntPtr.Size != 8) return false;
        try { return clock_gettime(ClockThreadCpuTimeId, out _) == 0; }
        catch (DllNotFoundException) { return false; }
        catch (EntryPointNotFoundException) { return false; }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clockId, out TimeSpec time);
}
