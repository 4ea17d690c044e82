using Microsoft.DotNet.Interactive;

namespace MovingImages.Interactive;

/// <summary>The notebook cell that is running.</summary>
public static class Cell
{
    /// <summary>
    /// Cancelled when the cell is stopped: VS Code's stop button (the kernel's Cancel command) or the runner's timeout and
    /// Ctrl+C. Pass it to long work (<c>pipeline.RunAsync(cancellationToken: Cell.CancellationToken)</c>,
    /// <c>faceit.Train(…, cancellationToken: Cell.CancellationToken)</c>): the work stops within a frame or a step, finishes
    /// its outputs, and the kernel — with the loaded models — stays alive. <see cref="CancellationToken.None"/> outside a kernel.
    /// </summary>
    public static CancellationToken CancellationToken => KernelInvocationContext.Current?.CancellationToken ?? CancellationToken.None;
}
