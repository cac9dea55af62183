"""The generator families, one module each (DCGAN, MLP GAN, conditional GAN, VAE, and the prompt encoder)."""
