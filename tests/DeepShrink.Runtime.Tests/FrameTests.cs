using DeepShrink.Runtime.Execution;

namespace DeepShrink.Runtime.Tests;

/// <summary>The buffers of one inference call start on a cache line (where the collector does not move them) and keep their contents while the slot lives.</summary>
public class FrameTests
{
    [Fact]
    public unsafe void Slots_StartOnACacheLine_AndKeepTheirContents()
    {
        using var f = new Frame(6, 1, 2);
        foreach (int length in new[] { 1, 7, 100, 4097, 30_000, 300_000 })
        {
            int slot = length % 6;
            var s = f.Get(slot, length);
            // large arrays (85,000 bytes and more) do not move; a small one might between Get and this check
            if (length * sizeof(float) >= 85_000) fixed (float* p = s) Assert.Equal(0, (long)p % 64);
            for (int i = 0; i < length; i++) s[i] = i * 0.5f;
            GC.Collect(); // may move the small arrays: the slot's start is an index, so the data stay where the span reads
            var again = f.Get(slot, length);
            for (int i = 0; i < length; i++) Assert.Equal(i * 0.5f, again[i]);
            f.Release(slot);
        }
    }

    [Fact]
    public void AShorterView_OfALiveSlot_IsItsFirstFloats()
    {
        using var f = new Frame(1, 1, 1);
        var s = f.Get(0, 64);
        for (int i = 0; i < 64; i++) s[i] = i;
        var head = f.Get(0, 10);
        for (int i = 0; i < 10; i++) Assert.Equal(i, head[i]);
    }
}
