using System.Buffers;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// The buffers of one inference call: one pooled array per storage slot, rented on first write and
/// returned when the plan says the slot is dead. Never shared between calls, so concurrent calls on
/// one model need no locks.
/// </summary>
internal sealed class Frame : IDisposable
{
    private readonly float[]?[] _buffers;
    private readonly int[] _starts; // first float of each slot's buffer on a cache-line boundary (fixed per rent)

    public Frame(int storages, int batch, int threads)
    {
        _buffers = new float[storages][];
        _starts = new int[storages];
        Batch = batch; Threads = threads;
    }

    /// <summary>Samples in this call.</summary>
    public int Batch { get; }

    /// <summary>Most threads a kernel may use.</summary>
    public int Threads { get; }

    /// <summary>
    /// The first <paramref name="length"/> floats of a slot (rented when absent). A slot starts on a cache line, so the
    /// threads of a kernel that write it side by side (channel or position ranges) share no line at their boundaries
    /// (<see cref="CacheLines"/> explains why); the start is chosen once per rent, so it stays the same
    /// index even if the collector moves the array (which only costs the alignment).
    /// </summary>
    public Span<float> Get(int storage, int length)
    {
        var b = _buffers[storage];
        if (b is null || b.Length - _starts[storage] < length)
        {
            if (b is not null) ArrayPool<float>.Shared.Return(b);
            b = _buffers[storage] = ArrayPool<float>.Shared.Rent(Math.Max(1, length) + CacheLines.Floats - 1);
            _starts[storage] = LineStart(b);
        }
        return b.AsSpan(_starts[storage], length);
    }

    private static unsafe int LineStart(float[] b)
    {
        fixed (float* p = b) return (int)(CacheLines.Align(p) - p);
    }

    /// <summary>Returns a slot's buffer to the pool.</summary>
    public void Release(int storage)
    {
        var b = _buffers[storage];
        if (b is null) return;
        _buffers[storage] = null;
        ArrayPool<float>.Shared.Return(b);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        for (int i = 0; i < _buffers.Length; i++) Release(i);
    }
}
