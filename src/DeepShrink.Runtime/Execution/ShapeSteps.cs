namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Concatenation along one axis: samples of input i viewed as [outer, chunk_i] (chunk_i = the product of the
/// axis and the axes after it) are copied side by side into [outer, sum chunk_i].
/// </summary>
internal sealed class ConcatStep(string name, int[] inputs, int outer, int[] chunks)
    : Step(name, "concat", inputs, chunks.Select(c => outer * c).ToArray(), -1, outer * chunks.Sum())
{
    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var y = Out(f);
        int row = OutputSize / outer, rows = f.Batch * outer, offset = 0;
        for (int i = 0; i < Inputs.Length; i++)
        {
            ReadOnlySpan<float> x = In(f, i);
            int c = chunks[i];
            for (int r = 0; r < rows; r++) x.Slice(r * c, c).CopyTo(y.Slice(r * row + offset, c));
            offset += c;
        }
        Finish(y);
    }
}

/// <summary>Constant padding of the last two axes: samples [planes, H, W] become [planes, top + H + bottom, left + W + right].</summary>
internal sealed class PadStep(string name, int input, int planes, int h, int w, int[] pads, float value)
    : Step(name, "pad", [input], [planes * h * w], -1, planes * (h + pads[0] + pads[2]) * (w + pads[1] + pads[3]))
{
    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        ReadOnlySpan<float> x = In(f, 0);
        var y = Out(f);
        int top = pads[0], left = pads[1], oh = h + top + pads[2], ow = w + left + pads[3], all = f.Batch * planes;
        for (int p = 0; p < all; p++)
        {
            var yp = y.Slice(p * oh * ow, oh * ow);
            yp[..(top * ow)].Fill(value);
            yp[((top + h) * ow)..].Fill(value);
            for (int r = 0; r < h; r++)
            {
                var yr = yp.Slice((top + r) * ow, ow);
                yr[..left].Fill(value);
                x.Slice((p * h + r) * w, w).CopyTo(yr.Slice(left, w));
                yr[(left + w)..].Fill(value);
            }
        }
        Finish(y);
    }
}
