using System.Numerics.Tensors;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>Matrix product of 2-D tensors: [m, k] x [k, n] -> [m, n].</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"MatMul shape mismatch: {ShapeUtil.Format(a.Shape)} x {ShapeUtil.Format(b.Shape)}");
        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        var ac = a.ContiguousData(); var bc = b.ContiguousData();
        var r = new Tensor(m, n);
        Gemm.Sgemm(false, false, m, n, k, 1f, ac.Span, Math.Max(1, k), bc.Span, Math.Max(1, n), 0f, r.Span, Math.Max(1, n));
        if (!Engine.WillRecord(a, b)) return r;
        return Engine.Record(r, new LambdaNode("MatMul", g =>
        {
            var gc = g.ContiguousData();
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad)
            {   // dA = G B^T
                ga = new Tensor(m, k);
                Gemm.Sgemm(false, true, m, k, n, 1f, gc.Span, Math.Max(1, n), bc.Span, Math.Max(1, n), 0f, ga.Span, Math.Max(1, k));
            }
            if (b.RequiresGrad)
            {   // dB = A^T G
                gb = new Tensor(k, n);
                Gemm.Sgemm(true, false, k, n, m, 1f, ac.Span, Math.Max(1, k), gc.Span, Math.Max(1, n), 0f, gb.Span, Math.Max(1, n));
            }
            return new[] { ga, gb };
        }, a, b));
    }

    /// <summary>Fully connected layer: y = x W^T + b, x [batch, in], W [out, in], b [out].</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias)
    {
        if (x.Rank != 2 || w.Rank != 2 || x.Shape[1] != w.Shape[1])
            throw new ArgumentException($"Linear shape mismatch: input {ShapeUtil.Format(x.Shape)}, weight {ShapeUtil.Format(w.Shape)} (expected [out, {(x.Rank == 2 ? x.Shape[1] : -1)}])");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != w.Shape[0]))
            throw new ArgumentException($"Linear bias shape {ShapeUtil.Format(bias.Shape)} does not match {w.Shape[0]} outputs");
        int batch = x.Shape[0], inF = x.Shape[1], outF = w.Shape[0];
        var xc = x.ContiguousData(); var wc = w.ContiguousData();
        var r = Uninitialized(batch, outF);
        var rs = r.Span;
        if (bias is not null)
        {
            var bs = bias.ContiguousData().Span;
            for (int i = 0; i < batch; i++) bs.CopyTo(rs.Slice(i * outF, outF));
        }
        Gemm.Sgemm(false, true, batch, outF, inF, 1f, xc.Span, Math.Max(1, inF), wc.Span, Math.Max(1, inF), bias is null ? 0f : 1f, rs, Math.Max(1, outF));
        var inputs = bias is null ? new[] { x, w } : new[] { x, w, bias };
        if (!Engine.WillRecord(inputs)) return r;
        return Engine.Record(r, new LambdaNode("Linear", g =>
        {
            var gc = g.ContiguousData();
            var grads = new Tensor?[inputs.Length];
            if (x.RequiresGrad)
            {   // dX = G W : [batch, out] x [out, in]
                var gx = GradResult(batch, inF);
                Gemm.Sgemm(false, false, batch, inF, outF, 1f, gc.Span, Math.Max(1, outF), wc.Span, Math.Max(1, inF), 0f, gx.Span, Math.Max(1, inF));
                grads[0] = gx;
            }
            if (w.RequiresGrad)
            {   // dW = G^T X : [out, batch] x [batch, in]
                var gw = GradResult(outF, inF);
                Gemm.Sgemm(true, false, outF, inF, batch, 1f, gc.Span, Math.Max(1, outF), xc.Span, Math.Max(1, inF), 0f, gw.Span, Math.Max(1, inF));
                grads[1] = gw;
            }
            if (bias is not null && bias.RequiresGrad)
            {
                var gb = GradResult(outF); var gbs = gb.Span; var gs = gc.Span;
                gbs.Clear();
                for (int i = 0; i < batch; i++) TensorPrimitives.Add(gbs, gs.Slice(i * outF, outF), gbs);
                grads[2] = gb;
            }
            return grads;
        }, inputs));
    }
}
