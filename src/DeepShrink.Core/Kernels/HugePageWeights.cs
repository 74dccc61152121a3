using System.Runtime.InteropServices;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// A read-only copy of large packed weights in memory aligned to 2 MB and advised for transparent huge pages
/// (Linux <c>madvise(MADV_HUGEPAGE)</c>), so that streaming them touches one TLB entry per 2 MB instead of one per 4 KB.
/// At batch 1 a ResNet's deep convolutions read their weights from memory once per call (47 MB for ResNet18, more than
/// the L3); with 4 KB pages every 4 KB of that stream needs its own page walk.
/// </summary>
/// <remarks>
/// Measured on ResNet18 at 224 x 224, batch 1, 2 threads, in one process against the same model with its indirect
/// convolutions' weights on the managed heap: 0.955-0.963 of its time (docs/RESULTS.md, "Fifteenth session").
/// Where the system gives no huge pages (another OS, transparent huge pages off) the memory is ordinary aligned
/// memory and nothing else changes. The memory is freed when the owner becomes unreachable (finalizer); owners keep
/// themselves alive (<see cref="GC.KeepAlive"/>) while a call reads the pointer.
/// </remarks>
internal sealed unsafe class HugePageWeights
{
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE
    private const nuint HugePage = 2 << 20;

    /// <summary>Smallest weights (bytes) copied here: one whole huge page.</summary>
    internal static long MinBytes = 2L << 20;

    private float* _data;

    /// <summary>The weights (length <see cref="Length"/>), 2 MB aligned.</summary>
    public float* Pointer => _data;

    /// <summary>Floats held.</summary>
    public int Length { get; }

    private HugePageWeights(ReadOnlySpan<float> data)
    {
        Length = data.Length;
        // whole 2 MB ranges of the block get huge pages; the tail past the last one stays on 4 KB pages (no rounding up:
        // ResNet18's indirect layers would have taken 68 MB of huge pages for 59 MB of weights)
        nuint bytes = ((nuint)data.Length * sizeof(float) + 63) / 64 * 64;
        _data = (float*)NativeMemory.AlignedAlloc(bytes, HugePage);
        if (OperatingSystem.IsLinux())
        {
            try { _ = Madvise((nint)_data, bytes, MadviseHugePage); } // advice only: a refusal leaves ordinary pages
            catch (DllNotFoundException) { }
            catch (EntryPointNotFoundException) { }
        }
        data.CopyTo(new Span<float>(_data, data.Length)); // the first touch, after the advice, allocates the pages
    }

    /// <summary>A huge-page copy of <paramref name="data"/>, or null when it is smaller than <see cref="MinBytes"/>.</summary>
    public static HugePageWeights? TryCopy(ReadOnlySpan<float> data) =>
        (long)data.Length * sizeof(float) >= MinBytes ? new HugePageWeights(data) : null;

    ~HugePageWeights()
    {
        if (_data != null) NativeMemory.AlignedFree(_data);
        _data = null;
    }

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int Madvise(nint addr, nuint length, int advice);
}
