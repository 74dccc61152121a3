using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DeepShrink.Bench;

/// <summary>
/// How far apart the cores of a two-thread measurement are: the round trip of one cache line bounced between two
/// threads. On the 2-vCPU VMs we measure on, the host moves the two vCPUs between places for seconds to minutes at a
/// time: ~85 ns when they share a die's cache, ~420-600 ns when they do not. Two-thread times change with it (ResNet18
/// at batch 1 in our runtime: 9.3 vs 12.3 ms; ONNX Runtime 9.8 vs 10.1 ms), so <c>bench compare</c> records it
/// beside its timings.
/// </summary>
public static class CorePlacement
{
    /// <summary>Above this round trip (ns) the two threads ran on cores that share no cache.</summary>
    public const double FarNanos = 250;

    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private sealed class Line { [FieldOffset(64)] public long Value; }

    /// <summary>
    /// Median round trip in nanoseconds over <paramref name="samples"/> samples of <paramref name="trips"/> trips each,
    /// or null on one logical CPU (two spinning threads would only take turns). Each sample gives up after 50 ms.
    /// </summary>
    public static double? RoundTripNanos(int samples = 7, int trips = 20_000)
    {
        if (Environment.ProcessorCount < 2) return null;
        var line = new Line();
        bool stop = false;
        var echo = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                long v = Volatile.Read(ref line.Value);
                if ((v & 1) != 0) Volatile.Write(ref line.Value, v + 1);
            }
        }) { IsBackground = true, Name = "deepshrink-core-probe" };
        echo.Start();
        var times = new List<double>();
        try
        {
            for (int s = 0; s < samples; s++)
            {
                long start = Stopwatch.GetTimestamp();
                int done = 0;
                for (; done < trips; done++)
                {
                    long v = Volatile.Read(ref line.Value) + 1;
                    Volatile.Write(ref line.Value, v);
                    while (Volatile.Read(ref line.Value) == v) { }
                    if ((done & 1023) == 1023 && Stopwatch.GetElapsedTime(start).TotalMilliseconds > 50) { done++; break; }
                }
                times.Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / done);
            }
        }
        finally { Volatile.Write(ref stop, true); echo.Join(); }
        times.Sort();
        return times[times.Count / 2];
    }
}
