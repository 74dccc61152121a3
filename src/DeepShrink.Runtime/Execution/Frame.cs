using System.Buffers;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// The buffers of one inference call: one pooled array per storage slot, rented on first write and
/// returned when the plan says the slot is dead. Never shared between calls, so concurrent calls on
/// one model need no locks.
/// </summary>
internal sealed class Frame : IDisposable
{
    private readonly float[]?[] _buffers;

    public Frame(int storages, int batch, int threads)
    {
        _buffers = new float[storages][];
        Batch = batch; Threads = threads;
    }

    /// <summary>Samples in this call.</summary>
    public int Batch { get; }

    /// <summary>Most threads a kernel may use.</summary>
    public int Threads { get; }

    /// <summary>The first <paramref name="length"/> floats of a slot (rented when absent).</summary>
    public Span<float> Get(int storage, int length)
    {
        var b = _buffers[storage];
        if (b is null || b.Length < length)
        {
            if (b is not null) ArrayPool<float>.Shared.Return(b);
            b = _buffers[storage] = ArrayPool<float>.Shared.Rent(Math.Max(1, length));
        }
        return b.AsSpan(0, length);
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
