using System.Diagnostics;
using DeepShrink.Bench;

namespace DeepShrink.Report.Tests;

/// <summary>The interleaved timing's settling calls: they end at the first call back at warm-up speed, and are bounded.</summary>
public class BenchTimingTests
{
    private static void Busy(double ms)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalMilliseconds < ms) { }
    }

    [Fact]
    public void Settle_stops_at_the_first_call_within_the_factor_of_the_fastest()
    {
        int calls = 0;
        // the first two calls are slow (a transient), then calls take no time; fastest warm-up call 20 ms
        ModelTiming.Settle(() => { if (++calls <= 2) Busy(60); }, 0.020);
        Assert.Equal(3, calls);
    }

    [Fact]
    public void Settle_makes_at_most_the_stated_number_of_calls()
    {
        int calls = 0;
        ModelTiming.Settle(() => { calls++; Busy(40); }, 0.010); // never back within 1.25 x 10 ms
        Assert.Equal(ModelTiming.MaxSettleCalls, calls);
    }

    [Fact]
    public void Rounds_time_every_action_in_every_round()
    {
        int a = 0, b = 0;
        var t = ModelTiming.Rounds([() => { a++; Busy(0.2); }, () => { b++; Busy(0.4); }], seconds: 0.2, rounds: 3);
        Assert.Equal(2, t.Length);
        Assert.All(t, r => Assert.Equal(3, r.Length));
        Assert.All(t.SelectMany(r => r), us => Assert.True(us > 100, $"{us} us per call of a >= 200 us action"));
        Assert.True(t[1].Average() > t[0].Average(), "the slower action must time slower");
        Assert.True(a > 3 && b > 3);
    }
}
