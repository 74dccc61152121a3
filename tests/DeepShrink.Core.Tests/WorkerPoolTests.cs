using DeepShrink.Core;
using Xunit;

namespace DeepShrink.Core.Tests;

public class WorkerPoolTests
{
    [Fact]
    public void EveryPartRunsOnceAndNeverOnMoreThreadsThanAsked()
    {
        foreach (int threads in new[] { 1, 2, 3 })
            for (int round = 0; round < 200; round++)
            {
                var hits = new int[37];
                int inside = 0, most = 0;
                WorkerPool.Run(hits.Length, threads, p =>
                {
                    int now = Interlocked.Increment(ref inside);
                    int seen;
                    while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen) { }
                    Interlocked.Increment(ref hits[p]);
                    Thread.SpinWait(50);
                    Interlocked.Decrement(ref inside);
                });
                Assert.All(hits, h => Assert.Equal(1, h));
                Assert.InRange(most, 1, threads);
            }
    }

    [Fact]
    public void TheCallerRunsARegionsFirstParts_TheWorkersItsLastOnes()
    {
        // the same split in every region keeps each thread on the data it wrote in the region before
        int caller = Environment.CurrentManagedThreadId;
        for (int round = 0; round < 50; round++)
        {
            var byCaller = new bool[24];
            WorkerPool.Run(byCaller.Length, 2, p =>
            {
                byCaller[p] = Environment.CurrentManagedThreadId == caller;
                Thread.SpinWait(2000);
            });
            int k = Array.IndexOf(byCaller, false); // the caller's parts before k; from k on, only the worker's
            if (k < 0 || !WorkerPool.LastRegionPooled) continue; // the worker took nothing, or another test held the pool
            Assert.True(byCaller.Skip(k).All(c => !c), $"round {round}: the caller ran a part after a worker's (split at {k})");
        }
    }

    [Fact]
    public void RethrowsThePartsExceptionItselfAfterTheOtherPartsFinish()
    {
        int done = 0;
        var e = Assert.Throws<InvalidOperationException>(() => WorkerPool.Run(16, 2, p =>
        {
            if (p == 3) throw new InvalidOperationException("part 3");
            Interlocked.Increment(ref done);
        }));
        Assert.Equal("part 3", e.Message);
        Assert.Equal(15, done);
        // the pool is usable afterwards
        int after = 0;
        WorkerPool.Run(8, 2, _ => Interlocked.Increment(ref after));
        Assert.Equal(8, after);
    }

    [Fact]
    public void A_region_on_the_fallback_also_runs_every_other_part_before_rethrowing()
    {
        // a region opened inside a part runs on Parallel.For (the pool is busy): it must behave as the pool does
        int done = 0;
        InvalidOperationException? caught = null;
        WorkerPool.Run(1, 1, _ => WorkerPool.Run(2, 2, outer =>
        {
            if (outer != 0) return;
            caught = Assert.Throws<InvalidOperationException>(() => WorkerPool.Run(64, 2, p =>
            {
                if (p == 3) throw new InvalidOperationException("part 3");
                Thread.SpinWait(2000);
                Interlocked.Increment(ref done);
            }));
        }));
        Assert.Equal("part 3", caught?.Message);
        Assert.Equal(63, done);
    }

    [Fact]
    public void NestedAndConcurrentRegionsComplete()
    {
        // nested regions (inside a part) and regions from several threads at once must neither deadlock nor lose parts
        long total = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (int r = 0; r < 50; r++)
                WorkerPool.Run(6, 2, p => WorkerPool.Run(5, 2, q => Interlocked.Add(ref total, 1)));
        });
        Assert.Equal(4L * 50 * 6 * 5, total);
    }

    [Fact]
    public void WorkersThatFellAsleepAreWokenForTheNextRegion()
    {
        int a = 0;
        WorkerPool.Run(4, 2, _ => Interlocked.Increment(ref a));
        Thread.Sleep(TimeSpan.FromMilliseconds(3 * WorkerPool.SpinMicros / 1000 + 20)); // longer than the spin: workers sleep
        var threadsSeen = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        for (int round = 0; round < 20 && threadsSeen.Count < 2; round++)
            WorkerPool.Run(64, 2, _ => { threadsSeen[Environment.CurrentManagedThreadId] = true; Thread.SpinWait(20000); Interlocked.Increment(ref a); });
        Assert.True(Environment.ProcessorCount < 2 || threadsSeen.Count == 2, $"one thread ran every part ({threadsSeen.Count} seen)");
        // parked workers (benchmarks hand the cores to another engine) come back for the next regions
        WorkerPool.Park();
        Thread.Sleep(5);
        threadsSeen.Clear();
        for (int round = 0; round < 20 && threadsSeen.Count < 2; round++)
            WorkerPool.Run(64, 2, _ => { threadsSeen[Environment.CurrentManagedThreadId] = true; Thread.SpinWait(20000); });
        Assert.True(Environment.ProcessorCount < 2 || threadsSeen.Count == 2, $"after Park one thread ran every part ({threadsSeen.Count} seen)");
    }
}
