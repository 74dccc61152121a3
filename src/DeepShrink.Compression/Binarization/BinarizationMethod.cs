namespace DeepShrink.Compression.Binarization;

/// <summary>Which binary network scheme a layer follows.</summary>
public enum BinarizationMethod
{
    /// <summary>BinaryConnect (Courbariaux, Bengio and David, NeurIPS 2015): binary weights +-H, real activations.</summary>
    BinaryConnect,
    /// <summary>BinaryNet / BNN (Hubara, Courbariaux et al., NeurIPS 2016): binary weights +-H and binary (+-1) activations.</summary>
    Bnn,
    /// <summary>XNOR-Net (Rastegari et al., ECCV 2016): binary weights with per-output-channel alpha, binary activations with scaling K.</summary>
    Xnor,
}
