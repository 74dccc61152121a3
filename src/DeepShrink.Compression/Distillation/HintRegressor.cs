using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// The FitNets regressor (Romero et al. 2015, "FitNets: hints for thin deep nets"): a learned map from the
/// student's guided layer to the teacher's hint layer, trained with the student's lower layers on
/// 1/2 ||u_h(x) - r(v_g(x))||^2 (here the mean squared error). A 1x1 convolution bridges [C_s, H, W] to
/// [C_t, H, W]; when the student's map is larger by an integer factor the convolution strides by it; a
/// linear layer bridges flat features [D_s] to [D_t]. With batch normalisation after the map (the regressor of Heo et al.
/// 2019, used by <see cref="MarginHint"/>) the conv or linear layer is followed by a <see cref="BatchNorm"/> over the
/// teacher's channels.
/// </summary>
public static class HintRegressor
{
    /// <summary>Creates the regressor from per-sample student shape to teacher shape; one-line <see cref="ArgumentException"/> when no such map exists.</summary>
    public static Module Create(int[] student, int[] teacher, Rng rng, bool batchNorm = false)
    {
        var map = Map(student, teacher, rng);
        return batchNorm ? new Sequential(("map", map), ("bn", new BatchNorm(teacher[0]))) : map;
    }

    private static Module Map(int[] student, int[] teacher, Rng rng)
    {
        if (student.Length == 1 && teacher.Length == 1) return new Linear(student[0], teacher[0], rng);
        if (student.Length == 3 && teacher.Length == 3)
        {
            int sh = student[1], th = teacher[1];
            if (sh % th == 0 && student[2] % teacher[2] == 0 && sh / th == student[2] / teacher[2])
                return new Conv2d(student[0], teacher[0], 1, rng, stride: sh / th);
        }
        throw new ArgumentException($"no regressor maps the guided shape {ShapeUtil.Format(student)} to the hint shape {ShapeUtil.Format(teacher)} (needs [C,H,W] with equal or integer-multiple spatial size, or flat [D])");
    }
}
