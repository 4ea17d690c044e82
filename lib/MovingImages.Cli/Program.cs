return await MovingImages.Cli.CliApp.RunAsync(args);
