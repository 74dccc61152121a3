using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// Knowledge distillation loss (Hinton, Vinyals and Dean 2015): the student learns from the labels and
/// from the teacher's softened output distribution,
/// L = (1 - w) CE(z_s, y) + w T^2 KL(softmax(z_t / T) || softmax(z_s / T)).
/// The T^2 factor keeps the soft term's gradient scale independent of the temperature; the soft term
/// is the KL divergence (cross-entropy minus the teacher's entropy, a constant), so it is 0 when the
/// student matches the teacher.
/// </summary>
public static class KnowledgeDistillation
{
    /// <summary>
    /// A training loss (logits, inputs, labels) -> scalar that runs <paramref name="teacher"/> on the
    /// same inputs (no gradient, eval mode) for the soft targets.
    /// </summary>
    /// <param name="teacher">The teacher network (not modified).</param>
    /// <param name="temperature">Softmax temperature T (> 0).</param>
    /// <param name="weight">Weight w of the soft term in [0, 1].</param>
    /// <param name="labelSmoothing">Label smoothing of the hard term.</param>
    public static Func<Tensor, Tensor, int[], Tensor> Loss(Module teacher, float temperature, float weight, float labelSmoothing = 0f)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        if (!(temperature > 0f)) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be > 0");
        if (!(weight >= 0f && weight <= 1f)) throw new ArgumentOutOfRangeException(nameof(weight), "weight must be in [0, 1]");
        teacher.Eval();
        return (logits, x, y) =>
        {
            Tensor z;
            using (Engine.NoGrad()) z = teacher.Forward(x);
            return DistillLosses.Hinton(logits, z, y, temperature, weight, labelSmoothing);
        };
    }

    /// <summary>softmax(teacher(x) / T), computed without recording gradients.</summary>
    public static Tensor SoftTargets(Module teacher, Tensor x, float temperature)
    {
        using var _ = Engine.NoGrad();
        var z = teacher.Forward(x);
        return Ops.Softmax(Ops.MulScalar(z, 1f / temperature));
    }
}
