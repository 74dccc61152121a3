namespace DeepShrink.Core.Autograd;

/// <summary>
/// Recycles the storage of gradient tensors that live only inside one <see cref="Engine.Backward(Tensor, Tensor?)"/>
/// pass (the gradient a node hands to the node before it), so a training step does not allocate
/// megabytes of fresh memory for them every time.
/// </summary>
/// <remarks>
/// Backward nodes of <see cref="Ops"/> create such tensors with <see cref="Tensor.EngineOwned"/> set; the
/// engine returns their storage here once the consuming node has run, and only when nothing else can
/// see it (no hooks, no alias among the node's results, not kept as a leaf gradient). A tensor that
/// never comes back is simply collected by the GC. Buffers are matched by exact length (training steps
/// repeat the same shapes) and handed out uninitialised: callers overwrite them completely. A process-wide
/// cache like <c>ArrayPool.Shared</c>, bounded in count per length and in total size; it has no
/// observable effect on results.
/// </remarks>
internal static class GradBufferPool
{
    /// <summary>Shorter buffers are not pooled (they are cheap for the GC).</summary>
    public const int MinLength = 4096;

    /// <summary>Most buffers kept per length.</summary>
    private const int MaxPerLength = 4;

    /// <summary>Most floats kept in all (64 MiB).</summary>
    private const long MaxPooledFloats = 1L << 24;

    private static readonly Dictionary<int, Stack<float[]>> s_free = new();
    private static readonly object s_lock = new();
    private static long s_pooledFloats;

    /// <summary>A buffer of exactly <paramref name="length"/> floats with unspecified contents.</summary>
    public static float[] Rent(int length)
    {
        if (length >= MinLength)
        {
            lock (s_lock)
            {
                if (s_free.TryGetValue(length, out var stack) && stack.TryPop(out var a))
                {
                    s_pooledFloats -= length;
                    return a;
                }
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Gives a buffer back; the caller must hold the only reference to it.</summary>
    public static void Return(float[] buffer)
    {
        if (buffer.Length < MinLength) return;
        lock (s_lock)
        {
            if (s_pooledFloats + buffer.Length > MaxPooledFloats) return;
            if (!s_free.TryGetValue(buffer.Length, out var stack)) s_free[buffer.Length] = stack = new Stack<float[]>();
            if (stack.Count >= MaxPerLength) return;
            stack.Push(buffer);
            s_pooledFloats += buffer.Length;
        }
    }
}
