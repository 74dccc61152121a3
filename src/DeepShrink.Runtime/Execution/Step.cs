using System.Numerics.Tensors;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// One executable operation of a plan: reads its input slots, writes its output slot. Per-sample
/// sizes are fixed at load time; the batch comes from the <see cref="Frame"/>.
/// </summary>
internal abstract class Step
{
    protected Step(string name, string op, int[] inputs, int[] inputSizes, int output, int outputSize)
    {
        Name = name; Op = op; Inputs = inputs; InputSizes = inputSizes; Output = output; OutputSize = outputSize;
    }

    /// <summary>Graph node name.</summary>
    public string Name { get; }
    /// <summary>Graph op.</summary>
    public string Op { get; }
    /// <summary>Storage slots read.</summary>
    public int[] Inputs { get; protected set; }
    /// <summary>Elements per sample of each input.</summary>
    public int[] InputSizes { get; protected set; }
    /// <summary>Storage slot written (may equal an input slot: in place).</summary>
    public int Output { get; set; }
    /// <summary>Elements per sample of the output.</summary>
    public int OutputSize { get; }
    /// <summary>Apply ReLU to the output (a following relu node folded in).</summary>
    public bool FuseRelu { get; set; }
    /// <summary>Whether the op may write over its first input (element-wise ops).</summary>
    public virtual bool CanRunInPlace => false;

    /// <summary>How the step runs, for profiles: its fusions and kernel path.</summary>
    public virtual string Describe() => FuseRelu ? "+relu" : "";

    /// <summary>Runs the step for the frame's batch.</summary>
    public abstract void Run(Frame frame);

    /// <summary>Input <paramref name="i"/> of the whole batch.</summary>
    protected Span<float> In(Frame f, int i) => f.Get(Inputs[i], f.Batch * InputSizes[i]);

    /// <summary>The output of the whole batch.</summary>
    protected Span<float> Out(Frame f) => f.Get(Output, f.Batch * OutputSize);

    /// <summary>y = relu(y) when fused.</summary>
    protected void Finish(Span<float> y)
    {
        if (FuseRelu) TensorPrimitives.Max(y, 0f, y);
    }

    /// <summary>Adds <c>bias[c]</c> to each of <paramref name="channels"/> runs of <paramref name="inner"/> elements, per sample.</summary>
    protected static void AddChannelBias(Span<float> y, ReadOnlySpan<float> bias, int samples, int channels, int inner) // y: [samples, channels, inner]
    {
        if (bias.IsEmpty) return;
        for (int s = 0; s < samples; s++)
        {
            var ys = y.Slice(s * channels * inner, channels * inner);
            if (inner == 1) TensorPrimitives.Add(ys, bias, ys);
            else for (int c = 0; c < channels; c++) TensorPrimitives.Add(ys.Slice(c * inner, inner), bias[c], ys.Slice(c * inner, inner));
        }
    }
}
