using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>
    /// Circulant projection y = C(c) D x for each row of x [batch, n], with C(c)[r, s] = c[(r - s) mod n]
    /// (c is the first column) and D = diag(signs) an optional fixed +-1 diagonal; powers of two n are fastest.
    /// </summary>
    /// <remarks>
    /// Cheng et al. 2015, "An exploration of parameter redundancy in deep networks with circulant
    /// projections" (ICCV): y = F^-1(F(c) * F(D x)) in O(n log n) with n stored parameters instead of n^2.
    /// Gradients: dx = D F^-1(conj F(c) * F(dy)), dc = F^-1 sum_batch F(dy) * conj F(D x). The signs receive
    /// no gradient. Runs on <see cref="BlockCirculantKernels"/> as the 1 x 1 block grid.
    /// </remarks>
    public static Tensor Circulant(Tensor x, Tensor c, Tensor? signs = null)
    {
        if (c.Rank != 1) throw new ArgumentException($"Circulant: defining vector must be 1-D [n], got {ShapeUtil.Format(c.Shape)}");
        return StructuredLinear("Circulant", x, c, new BlockCirculantShape(1, 1, CheckedBlock("Circulant", c.Shape[0])), signs);
    }

    /// <summary>
    /// Block-circulant projection y = W D x for each row of x [batch, q b], where W [p b, q b] is a grid of
    /// circulant blocks defined by <paramref name="blocks"/> [p, q, b] (block (i, j) has first column
    /// blocks[i, j, :]) and D = diag(signs) an optional fixed +-1 diagonal [q b]; powers of two b are fastest.
    /// </summary>
    /// <remarks>
    /// CirCNN (Ding et al. 2017, MICRO): y_i = F^-1 sum_j F(w_ij) * F(D x)_j, summed in the frequency domain;
    /// p q b stored parameters instead of p q b^2. Gradients as for <see cref="Circulant"/>, block by block.
    /// </remarks>
    public static Tensor BlockCirculant(Tensor x, Tensor blocks, Tensor? signs = null)
    {
        if (blocks.Rank != 3) throw new ArgumentException($"BlockCirculant: blocks must be 3-D [outBlocks, inBlocks, blockSize], got {ShapeUtil.Format(blocks.Shape)}");
        int b = CheckedBlock("BlockCirculant", blocks.Shape[2]);
        if (blocks.Shape[0] < 1 || blocks.Shape[1] < 1) throw new ArgumentException($"BlockCirculant: empty block grid {ShapeUtil.Format(blocks.Shape)}");
        return StructuredLinear("BlockCirculant", x, blocks, new BlockCirculantShape(blocks.Shape[0], blocks.Shape[1], b), signs);
    }

    /// <summary>
    /// A fixed random +-1 diagonal [n] for <see cref="Circulant"/> and <see cref="BlockCirculant"/> (not a
    /// trainable parameter: a layer regenerates it from <paramref name="seed"/> or stores it as bits).
    /// </summary>
    public static Tensor RandomSigns(int n, ulong seed)
    {
        if (n < 0) throw new ArgumentException($"RandomSigns: negative length {n}");
        var rng = new Rng(seed);
        var d = new float[n];
        for (int i = 0; i < n; i++) d[i] = (rng.NextUInt64() >> 63) == 0 ? 1f : -1f;
        return new Tensor(d, n);
    }

    private static int CheckedBlock(string op, int b)
    {
        if (!FftPlan.IsSupportedSize(b)) throw new ArgumentException($"{op}: size {b} is not supported by the FFT (1 to {FftPlan.MaxBluesteinSize}, or a power of two up to {FftPlan.MaxSize})");
        return b;
    }

    private static Tensor StructuredLinear(string op, Tensor x, Tensor weights, BlockCirculantShape shape, Tensor? signs)
    {
        if (x.Rank != 2 || x.Shape[1] != shape.In)
            throw new ArgumentException($"{op}: input must be [batch, {shape.In}] for {shape}, got {ShapeUtil.Format(x.Shape)}");
        float[] d = [];
        if (signs is not null)
        {
            if (signs.Rank != 1 || signs.Shape[0] != shape.In)
                throw new ArgumentException($"{op}: signs must be [{shape.In}], got {ShapeUtil.Format(signs.Shape)}");
            d = signs.ToArray();
            foreach (float s in d)
                if (s is not (1f or -1f)) throw new ArgumentException($"{op}: signs must be +1 or -1, found {s}");
        }
        int batch = x.Shape[0];
        var xc = x.ContiguousData(); var wc = weights.ContiguousData();
        var y = Uninitialized(batch, shape.Out);
        BlockCirculantKernels.Forward(shape, batch, xc.Span, wc.Span, d, y.Span);
        if (!Engine.WillRecord(x, weights)) return y;
        return Engine.Record(y, new LambdaNode(op, g =>
        {
            var gc = g.ContiguousData();
            var dx = x.RequiresGrad ? GradResult(x.Shape) : null;
            var dw = weights.RequiresGrad ? GradResult(weights.Shape) : null;
            BlockCirculantKernels.Backward(shape, batch, xc.Span, wc.Span, d, gc.Span,
                dx is null ? default : dx.Span, dw is null ? default : dw.Span);
            return new[] { dx, dw };
        }, x, weights));
    }
}
