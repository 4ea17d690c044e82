using static TorchSharp.torch;

namespace MovingImages.Nn;

/// <summary>
/// Channels-last (NHWC) memory order for NCHW-shaped tensors — what <c>x.to(memory_format=torch.channels_last)</c> does in
/// PyTorch, which TorchSharp 0.107 has no binding for: the same logical tensor, its channels adjacent in memory. oneDNN's
/// convolutions read and write that order directly; NCHW inputs are reordered to a blocked layout and back on every
/// call, forward and backward.
/// </summary>
internal static class ChannelsLast
{
    /// <summary>Whether <paramref name="x"/> (N×C×H×W) is stored channels-last.</summary>
    public static bool Is(Tensor x) => x.dim() == 4 && x.shape[1] > 1 && x.stride(1) == 1 && x.stride(3) == x.shape[1];

    /// <summary><paramref name="x"/> stored channels-last (itself when it already is).</summary>
    public static Tensor Of(Tensor x) => Is(x) || x.dim() != 4 || x.shape[1] == 1 ? x : x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
}
