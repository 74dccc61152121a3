namespace DeepShrink.Core.Kernels;

/// <summary>
/// A transformation group under which square convolution filters are shared: a layer stores one filter
/// per orbit and applies every group element to it (Cohen and Welling 2016, "Group equivariant
/// convolutional networks", ICML: the groups p4 and p4m).
/// </summary>
public enum FilterGroup
{
    /// <summary>p4: the four rotations by multiples of 90 degrees (order 4).</summary>
    Rotations4,

    /// <summary>p4m: rotations and their left-right mirror images, the dihedral group of the square (order 8).</summary>
    Dihedral8,
}
