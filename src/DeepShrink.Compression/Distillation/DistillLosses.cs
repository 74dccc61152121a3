using DeepShrink.Core;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// The distillation losses, each taking the student's tensor (with gradient) and the teacher's target
/// (computed without gradient, possibly cached): Hinton soft targets, feature matching (MSE or cosine),
/// attention transfer, and regression to real-valued teacher outputs.
/// </summary>
public static class DistillLosses
{
    /// <summary>
    /// Soft-target term of Hinton, Vinyals and Dean (2015):
    /// T^2 KL(softmax(z_t / T) || softmax(z_s / T)), averaged over the batch.
    /// </summary>
    /// <remarks>The T^2 factor keeps the gradient scale, (softmax(z_s/T) - softmax(z_t/T)) T / N per logit, comparable across temperatures.</remarks>
    public static Tensor Soft(Tensor studentLogits, Tensor teacherLogits, float temperature)
    {
        if (!(temperature > 0f)) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be > 0");
        Tensor soft;
        using (Core.Autograd.Engine.NoGrad()) soft = Ops.Softmax(Ops.MulScalar(teacherLogits, 1f / temperature));
        var kl = Ops.AddScalar(Ops.SoftCrossEntropy(studentLogits, soft, temperature), -MeanEntropy(soft));
        return Ops.MulScalar(kl, temperature * temperature);
    }

    /// <summary>
    /// Hinton's loss (1 - w) CE(z_s, y) + w T^2 KL(softmax(z_t/T) || softmax(z_s/T)); with <paramref name="labels"/>
    /// null (unlabelled data) only the soft term.
    /// </summary>
    public static Tensor Hinton(Tensor studentLogits, Tensor teacherLogits, int[]? labels, float temperature, float weight, float labelSmoothing = 0f)
    {
        if (!(weight >= 0f && weight <= 1f)) throw new ArgumentOutOfRangeException(nameof(weight), "weight must be in [0, 1]");
        var soft = Soft(studentLogits, teacherLogits, temperature);
        if (labels is null) return soft;
        var hard = Ops.CrossEntropy(studentLogits, labels, labelSmoothing);
        return Ops.Add(Ops.MulScalar(hard, 1f - weight), Ops.MulScalar(soft, weight));
    }

    /// <summary>Mean squared error between student and teacher tensors of the same shape (FitNets hints, feature and regression distillation).</summary>
    public static Tensor Mse(Tensor student, Tensor teacher) => Ops.Mse(student, teacher);

    /// <summary>1 - mean over samples of the cosine similarity between the flattened student and teacher tensors.</summary>
    public static Tensor Cosine(Tensor student, Tensor teacher)
    {
        var cos = RowCosine(Rows(student), Rows(teacher));
        return Ops.AddScalar(Ops.Neg(Ops.Mean(cos)), 1f);
    }

    /// <summary>Cosine similarity of each row of two [N, D] tensors, as [N].</summary>
    public static Tensor RowCosine(Tensor a, Tensor b)
    {
        if (!ShapeUtil.SameShape(a.Shape, b.Shape)) throw new ArgumentException($"shape mismatch: {ShapeUtil.Format(a.Shape)} vs {ShapeUtil.Format(b.Shape)}");
        var dot = Ops.Sum(Ops.Mul(a, b), 1);
        var na = Ops.Sum(Ops.Square(a), 1);
        var nb = Ops.Sum(Ops.Square(b), 1);
        return Ops.Div(dot, Ops.Sqrt(Ops.AddScalar(Ops.Mul(na, nb), 1e-12f)));
    }

    /// <summary>
    /// Attention map of Zagoruyko and Komodakis (2017), "Paying more attention to attention": for a
    /// [N, C, H, W] activation, Q = sum_c A_c^2 flattened to [N, H*W] and L2-normalised per sample.
    /// </summary>
    public static Tensor AttentionMap(Tensor activation)
    {
        if (activation.Rank != 4) throw new ArgumentException($"attention transfer needs [N, C, H, W] activations, got {ShapeUtil.Format(activation.Shape)}");
        int n = activation.Shape[0];
        var q = Ops.Reshape(Ops.Sum(Ops.Square(activation), 1), n, -1);
        var norm = Ops.Sqrt(Ops.AddScalar(Ops.Sum(Ops.Square(q), 1, keepDim: true), 1e-12f));
        return Ops.Div(q, norm);
    }

    /// <summary>
    /// Attention-transfer loss: mean over samples and positions of (Q_s/|Q_s| - Q_t/|Q_t|)^2, times <paramref name="beta"/>/2
    /// (the authors' implementation uses the mean of squares; the channel counts may differ, the spatial sizes must match).
    /// </summary>
    public static Tensor AttentionTransfer(Tensor student, Tensor teacher, float beta = 1000f)
    {
        var qs = AttentionMap(student);
        Tensor qt;
        using (Core.Autograd.Engine.NoGrad()) qt = AttentionMap(teacher);
        if (!ShapeUtil.SameShape(qs.Shape, qt.Shape))
            throw new ArgumentException($"attention maps differ in size: student {ShapeUtil.Format(student.Shape)} vs teacher {ShapeUtil.Format(teacher.Shape)} (spatial sizes must match)");
        return Ops.MulScalar(Ops.Mse(qs, qt), beta / 2f);
    }

    /// <summary>[N, ...] as [N, D].</summary>
    public static Tensor Rows(Tensor x) => x.Rank == 2 ? x : Ops.Reshape(x, x.Shape[0], -1);

    /// <summary>Mean over rows of the entropy -sum_c p log p of a [N, C] distribution.</summary>
    internal static float MeanEntropy(Tensor p)
    {
        var s = p.ContiguousData().Span;
        double h = 0;
        foreach (var v in s) if (v > 0f) h -= v * Math.Log(v);
        return p.Shape[0] == 0 ? 0f : (float)(h / p.Shape[0]);
    }
}
