using System.Buffers;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Block-circulant fully connected layer from its stored defining vectors: y = (W D pad(x))[:out] + b through
/// real FFTs (<see cref="BlockCirculantKernels.ForwardSpectra"/>, weight spectra cached at load), + ReLU when fused.
/// </summary>
internal sealed class CirculantStep(string name, int input, CirculantAttrs a, float[] spectra, float[] signs, float[] bias)
    : Step(name, StructuredOps.Circulant, [input], [a.InFeatures], -1, a.OutFeatures)
{
    /// <inheritdoc/>
    public override string Describe() => $"fft {a.Shape}" + (FuseRelu ? " +relu" : "");

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0); var y = Out(f);
        int batch = f.Batch, inP = a.Shape.In, outP = a.Shape.Out;
        bool padIn = inP != a.InFeatures, padOut = outP != a.OutFeatures;
        float[]? xs = padIn ? ArrayPool<float>.Shared.Rent(batch * inP) : null;
        float[]? ys = padOut ? ArrayPool<float>.Shared.Rent(batch * outP) : null;
        try
        {
            ReadOnlySpan<float> xin = x;
            if (xs is not null)
            {
                var xp = xs.AsSpan(0, batch * inP);
                xp.Clear();
                for (int s = 0; s < batch; s++) x.Slice(s * a.InFeatures, a.InFeatures).CopyTo(xp.Slice(s * inP));
                xin = xp;
            }
            var yout = ys is null ? y : ys.AsSpan(0, batch * outP);
            BlockCirculantKernels.ForwardSpectra(a.Shape, batch, xin, spectra, signs, yout, f.Threads);
            if (ys is not null)
                for (int s = 0; s < batch; s++) yout.Slice(s * outP, a.OutFeatures).CopyTo(y.Slice(s * a.OutFeatures));
        }
        finally
        {
            if (xs is not null) ArrayPool<float>.Shared.Return(xs);
            if (ys is not null) ArrayPool<float>.Shared.Return(ys);
        }
        AddChannelBias(y, bias, batch, a.OutFeatures, 1);
        Finish(y);
    }
}
