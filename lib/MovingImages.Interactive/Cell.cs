using Microsoft.DotNet.Interactive;

namespace MovingImages.Interactive;

/// <summary>The notebook cell that is running.</summary>
public static class Cell
{
    /// <summary>
    /// Cancelled when the reader stops the cell: VS Code's stop button, Jupyter's "interrupt the kernel" (with the
    /// kernelspec's <c>interrupt_mode: message</c>, as <c>movingimages notebook kernelspec</c> installs it), or a runner's
    /// timeout. Pass it to long work (<c>pipeline.RunAsync(cancellationToken: Cell.CancellationToken)</c>,
    /// <c>faceit.Train(…, cancellationToken: Cell.CancellationToken)</c>): the work stops within a frame or a step, finishes
    /// its outputs, and the kernel — with the loaded models — stays alive. <see cref="CancellationToken.None"/> outside a kernel.
    /// </summary>
    public static CancellationToken CancellationToken => KernelInvocationContext.Current?.CancellationToken ?? CancellationToken.None;
}
