namespace DeepShrink.Core.Kernels;

/// <summary>
/// Shape of a block-circulant matrix: a grid of <see cref="OutBlocks"/> x <see cref="InBlocks"/>
/// circulant blocks of size <see cref="BlockSize"/>, so the matrix is
/// [OutBlocks b, InBlocks b] and is stored as OutBlocks x InBlocks defining vectors of length b.
/// A full circulant n x n matrix is the 1 x 1 grid with b = n.
/// </summary>
public readonly record struct BlockCirculantShape
{
    /// <summary>Block rows p (output features / b).</summary>
    public int OutBlocks { get; }

    /// <summary>Block columns q (input features / b).</summary>
    public int InBlocks { get; }

    /// <summary>Block size b (powers of two are fastest; other sizes run through Bluestein's FFT).</summary>
    public int BlockSize { get; }

    /// <summary>Creates and validates a shape.</summary>
    public BlockCirculantShape(int outBlocks, int inBlocks, int blockSize)
    {
        if (outBlocks < 1 || inBlocks < 1) throw new ArgumentException($"block-circulant grid must be at least 1 x 1, got {outBlocks} x {inBlocks}");
        if (!FftPlan.IsSupportedSize(blockSize))
            throw new ArgumentException($"block-circulant block size {blockSize} is not supported by the FFT (1 to {FftPlan.MaxBluesteinSize}, or a power of two up to {FftPlan.MaxSize})");
        if ((long)Math.Max(outBlocks, inBlocks) * Math.Max(outBlocks, inBlocks) * blockSize > int.MaxValue)
            throw new ArgumentException($"block-circulant {outBlocks} x {inBlocks} blocks of {blockSize} is too large");
        OutBlocks = outBlocks; InBlocks = inBlocks; BlockSize = blockSize;
    }

    /// <summary>The shape of an [<paramref name="outFeatures"/>, <paramref name="inFeatures"/>] matrix in blocks of <paramref name="blockSize"/>; both must be multiples of it.</summary>
    public static BlockCirculantShape ForMatrix(int outFeatures, int inFeatures, int blockSize)
    {
        if (blockSize < 1 || outFeatures % blockSize != 0 || inFeatures % blockSize != 0)
            throw new ArgumentException($"block-circulant: block size {blockSize} must divide both output features {outFeatures} and input features {inFeatures}");
        return new BlockCirculantShape(outFeatures / blockSize, inFeatures / blockSize, blockSize);
    }

    /// <summary>Output features p b.</summary>
    public int Out => OutBlocks * BlockSize;

    /// <summary>Input features q b.</summary>
    public int In => InBlocks * BlockSize;

    /// <summary>Stored parameters p q b (the defining vectors).</summary>
    public int Parameters => OutBlocks * InBlocks * BlockSize;

    /// <summary>Floats in one block's split spectrum, 2 (b/2 + 1).</summary>
    public int SpectrumFloats => 2 * (BlockSize / 2 + 1);

    /// <summary>Shape as text, e.g. "4x2 blocks of 64 ([256, 128])".</summary>
    public override string ToString() => $"{OutBlocks}x{InBlocks} blocks of {BlockSize} ([{Out}, {In}])";
}
